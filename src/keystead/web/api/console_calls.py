"""API calls from the console's API Explorer, made with the signed-in admin's session.

The management API otherwise takes only bearer tokens. A console call is recognised by its
``X-Keystead-CSRF`` header (and no ``Authorization``), and accepted only when all hold:

- the header carries the CSRF token bound to the session cookie the request sends (a page of
  this console got it; another site can neither read it nor compute it);
- the browser says the request is same-origin: ``Sec-Fetch-Site`` (when sent) is
  ``same-origin`` and ``Origin`` (when sent) names this host. A custom header already makes any
  cross-origin ``fetch`` a CORS preflight, which this server never answers;
- the session is signed in fully (MFA done when the user's rights need it) and not idle past
  the console's timeout; a call counts as activity, as a page view does.

The call then acts as the user with the user's permissions, as the console does: a session has
no scopes to narrow it (scopes bound what a client's token may do; this is the user's own hand).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from keystead.domain.principal import Caller
from keystead.protocol.errors import InvalidTokenError
from keystead.web.console import sessions
from keystead.web.console.pages import signed_in_user
from keystead.web.runtime import Runtime

HEADER = "x-keystead-csrf"


def is_console_call(request: Request) -> bool:
    return HEADER in request.headers and "authorization" not in request.headers


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


async def console_caller(request: Request, runtime: Runtime, conn: AsyncConnection) -> Caller:
    """The signed-in console user making this call (see the module docstring).

    Raises:
        InvalidTokenError: another origin, no live signed-in session, or a wrong CSRF token.
    """
    if not _same_origin(request):
        raise InvalidTokenError("a console session is accepted only from this console's pages")
    loaded = await sessions.load(request, runtime, conn)
    session = loaded.session
    if session is None or not runtime.digester.csrf_matches(
            session.cookie, request.headers.get(HEADER, "")):
        raise InvalidTokenError("the console session is not valid: sign in again")
    _user, caller = await signed_in_user(request, runtime.callers(conn), session)
    if caller is None:
        raise InvalidTokenError("the console session is not signed in: sign in again")
    return caller
