"""Bearer authentication for the management API (RFC 6750): scope AND permission."""

from __future__ import annotations

from starlette.requests import Request

from keystead.domain.audiences import is_for_management_api, management_api
from keystead.domain.callers import Callers
from keystead.domain.principal import Caller
from keystead.domain.scopes import has_scope
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.protocol.tokens import ActiveToken
from keystead.web.runtime import Runtime


def bearer_token(request: Request) -> str:
    """Raises: InvalidTokenError when no Bearer token is presented."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("a Bearer access token is required")
    return token.strip()


async def active_token(request: Request, runtime: Runtime) -> ActiveToken:
    return await runtime.tokens.validate(bearer_token(request))


async def management_token(request: Request, runtime: Runtime) -> ActiveToken:
    """The request's token, active and meant for the management API (``{issuer}/api/v2``).

    RFC 9068 §4: the resource server MUST validate that ``aud`` contains its own identifier.
    Refused with 401 ``invalid_token``, not 403: no scope or permission would make the token
    acceptable here, so the client must get another token, not ask for more scope. An implicit
    token is refused whatever its scope and whoever its user: it travelled in a URL.

    Raises:
        InvalidTokenError: not active, issued by the implicit grant, or for another audience.
    """
    token = await active_token(request, runtime)
    record, issuer = token.record, runtime.tokens.issuer
    if not is_for_management_api(record.audience, issuer=issuer, implicit=record.implicit):
        reason = ("an implicit grant token" if record.implicit
                  else f"not for this API (its audience must include {management_api(issuer)})")
        raise InvalidTokenError(f"the access token is {reason}")
    return token


async def authorize(request: Request, token: ActiveToken, callers: Callers, *,
                    scope: str) -> Caller:
    """The caller behind the request's token, which must carry ``scope``, with the permissions
    its roles give now.

    Raises:
        InsufficientScopeError: the token lacks ``scope``.
        InvalidTokenError: the token's user is gone or not active.
    """
    if not has_scope(token.scopes, scope):
        raise InsufficientScopeError(f"the token lacks the scope {scope}")
    if token.record.subject_id is None:
        return await callers.of_client(token.client_id, client_ip(request))
    caller = await callers.of_active_user(token.record.subject_id, client_ip(request))
    if caller is None:
        raise InvalidTokenError("the access token's user is not active")
    return caller


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
