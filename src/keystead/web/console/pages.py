"""What every console page shares: its session, its signed-in user, CSRF, headers, errors.

``page(handler)`` wraps a handler: it loads the session (sending anyone not signed in to the
sign-in page), checks the CSRF token of every POST, and answers with the security headers.
Handlers render templates through ``Page.render`` and do their work in ``Page.transaction``.

A page view (GET of a signed-in page) reads its session and its data in one transaction and
writes nothing unless the session's last-seen time is due (``sessions.load``); its handler runs
in a savepoint, so a refusal undoes what the handler did but not the session's upkeep. A form
post, and a public page (sign-in, authorization), works in transactions of its own: their
handlers use the hot store, whose SQLite connection would wait for a transaction held open here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.callers import Callers
from keystead.domain.clients import Actor
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.users import User, needs_mfa
from keystead.log_setup import shown_path
from keystead.web.auth import client_ip
from keystead.web.console import ids as _ids  # noqa: F401 (registers the id convertors)
from keystead.web.console import sessions
from keystead.web.console.durations import duration
from keystead.web.console.sessions import PRE_SESSION_COOKIE, Session, Stage
from keystead.web.routing import route_at
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead.console")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def when(value: datetime | None) -> str:
    """A time as people read it, in UTC (the ``when`` template filter); "never" for none."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


templates.env.filters["when"] = when
templates.env.filters["duration"] = duration

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'")
# Sign-in and consent forms end in a redirect to the OAuth client's redirect URI, which
# browsers check against form-action: only the admin pages can pin forms to this origin.
ADMIN_CSP = f"{CSP}; form-action 'self'"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}
# What a handler may raise to refuse, shown on the error page with the error's status.
REFUSALS = (ForbiddenError, NotFoundError, ConflictError, InvalidInputError)
PageRefusal = ForbiddenError | NotFoundError | ConflictError | InvalidInputError
ERROR_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 400: "Check your input"}
# Notices a redirect may ask a page to show: fixed texts, so no request can inject one.
NOTICES = {
    "signed-out": "You are signed out.",
    "expired": "You were signed out after a period of inactivity. Sign in again.",
}


@dataclass(slots=True)
class Page:
    request: Request
    runtime: Runtime
    session: Session | None
    user: User | None
    caller: Caller | None
    form: FormData | None = None
    _cookies: dict[str, str] = field(default_factory=dict)
    _pre_session: str = ""
    public: bool = False
    expired: bool = False  # a session cookie came, but its session had timed out
    _view: AsyncConnection | None = None  # a page view's one transaction
    unread_notices: int = 0  # the signed-in user's unread notices: the nav's Inbox count

    @property
    def signed_in(self) -> Caller:
        """The signed-in user as a Caller (only on pages that require sign-in)."""
        if self.caller is None:
            raise ForbiddenError("sign in first")
        return self.caller

    @property
    def csrf_token(self) -> str:
        binding = self.session.cookie if self.session else self._pre_session
        return csrf_token(self.runtime, binding)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """The page view's transaction, or (for a form post) one of its own."""
        if self._view is not None:
            yield self._view
            return
        async with self.runtime.transaction() as conn:
            yield conn

    def use_session(self, session: Session) -> None:
        """Make ``session`` this browser's session (a new id after each sign-in step)."""
        self.session = session
        self._cookies[sessions.SESSION_COOKIE] = session.cookie

    def forget_session(self) -> None:
        self.session = None
        self._cookies[sessions.SESSION_COOKIE] = ""

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        return self.render_with({}, template, status, **context)

    def render_with(self, notice_texts: Mapping[str, str], template: str, status: int = 200,
                    **context: Any) -> Response:
        """``render`` for a page with notices of its own (its area's fixed texts), which a
        redirect may ask for with ``?notice=``, beside the sign-in ones."""
        asked = self.request.query_params.get("notice", "")
        notice = NOTICES.get(asked, "") or notice_texts.get(asked, "")
        return templates.TemplateResponse(self.request, template, {
            "page": self, "user": self.user, "caller": self.caller, "notice": notice,
            "csrf_token": self.csrf_token, "path": self.request.url.path, **context,
        }, status_code=status)

    def finish(self, response: Response) -> Response:
        for name, value in self._cookies.items():
            if value:
                sessions.set_cookie(response, self.request, self.runtime, name, value)
            else:
                sessions.delete_cookie(response, self.request, self.runtime, name)
        response.headers.update(SECURITY_HEADERS)
        if not self.public:
            response.headers["content-security-policy"] = ADMIN_CSP
        return response


def path_id(ctx: Page) -> str:
    """The ``id`` in the page's address: its route's convertor (``ids.py``) checked it."""
    return str(ctx.request.path_params["id"])


def csrf_token(runtime: Runtime, binding: str) -> str:
    return runtime.digester.csrf(binding)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


Handler = Callable[[Page], Awaitable[Response]]


def page(handler: Handler, *, public: bool = False,
         csrf: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` as a console endpoint (see the module docstring).

    ``csrf=False`` only for a POST that is not a form of ours (the OAuth authorization request,
    which any site may send, as it may send the same request by GET): the handler reads the body.
    """

    async def endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        if public or request.method not in ("GET", "HEAD"):
            async with runtime.transaction() as conn:
                ctx = await _open(request, runtime, conn, public=public)
            if (refused := await _admit(ctx, csrf=csrf)) is not None:
                return refused
            try:
                response = await handler(ctx)
            except REFUSALS as exc:
                response = await _error_page(ctx, exc)
            return ctx.finish(response)
        failed: PageRefusal | None = None
        async with runtime.transaction() as conn:
            ctx = await _open(request, runtime, conn, public=public)
            if ctx.caller is None:
                return _to_sign_in(ctx)
            ctx._view = conn
            try:
                async with conn.begin_nested():
                    response = await handler(ctx)
            except REFUSALS as exc:
                failed = exc
            finally:
                ctx._view = None
        # Outside the transaction: a refusal is audited on the hot store's own connection.
        return ctx.finish(response if failed is None else await _error_page(ctx, failed))

    return endpoint


def route(path: str, get: Handler | None = None, *, post: Handler | None = None,
          public: bool = False, csrf: bool = True) -> Route:
    """The page at ``path``: ``get`` shows it, ``post`` takes its form (one route, so a 405
    names both: web/routing.py)."""
    return route_at(path, get=None if get is None else page(get, public=public, csrf=csrf),
                    post=None if post is None else page(post, public=public, csrf=csrf))


def area_routes(base: str, *, listing: Handler, new_form: Handler, create: Handler,
                view: Handler, change: Handler, actions: Mapping[str, Handler] | None = None,
                id_type: str = "entity") -> list[Route]:
    """An area's pages: its list, the Add form (shown, posted), each entity's page (shown,
    posted) and the POST ``actions`` under it (``delete``...); ids of ``id_type`` (``ids.py``)."""
    page_path = base + "/{id:%s}" % id_type  # noqa: UP031 (braces are Starlette's)
    return [route(base, listing), route(f"{base}/new", new_form, post=create),
            route(page_path, view, post=change),
            *(route(f"{page_path}/{path}", post=handler)
              for path, handler in (actions or {}).items())]


EntityHandler = Callable[[Page, str | None], Awaitable[Response]]


def entity_routes(base: str, *, listing: Handler, show: EntityHandler, save: EntityHandler,
                  may_add: Permission, actions: Mapping[str, Handler] | None = None
                  ) -> list[Route]:
    """``area_routes`` for an area whose Add form is its entity page without an entity:
    ``show``/``save`` take the entity's id, None for the Add form (which needs ``may_add``)."""

    async def new_form(ctx: Page) -> Response:
        ctx.signed_in.require(may_add)
        return await show(ctx, None)

    async def view(ctx: Page) -> Response:
        return await show(ctx, path_id(ctx))

    async def create(ctx: Page) -> Response:
        return await save(ctx, None)

    async def change(ctx: Page) -> Response:
        return await save(ctx, path_id(ctx))

    return area_routes(base, listing=listing, new_form=new_form, create=create, view=view,
                       change=change, actions=actions)


async def _open(request: Request, runtime: Runtime, conn: AsyncConnection, *,
                public: bool) -> Page:
    """The page's context: its session (touched when due, ended when timed out) and user."""
    loaded = await sessions.load(request, runtime, conn)
    user, caller = await signed_in_user(request, runtime.callers(conn), loaded.session)
    ctx = Page(request, runtime, loaded.session, user, caller, public=public)
    if caller is not None and not public:
        ctx.unread_notices = await runtime.inbox(conn).unread(caller)
    if loaded.expired:
        ctx.forget_session()
        ctx.expired = True
    pre = request.cookies.get(sessions.cookie_name(runtime, PRE_SESSION_COOKIE), "")
    if not pre:
        pre = secrets.token_urlsafe(24)
        ctx._cookies[PRE_SESSION_COOKIE] = pre
    ctx._pre_session = pre
    return ctx


async def _admit(ctx: Page, *, csrf: bool) -> Response | None:
    """None when the handler may run; else the answer: the sign-in page, or the CSRF refusal."""
    if not ctx.public and ctx.caller is None:
        return _to_sign_in(ctx)
    if ctx.request.method == "POST" and csrf:
        ctx.form = await ctx.request.form()
        sent = ctx.field("csrf_token")
        binding = ctx.session.cookie if ctx.session else ctx._pre_session
        if not sent or not ctx.runtime.digester.csrf_matches(binding, sent):
            await _audit_refusal(ctx, "missing or wrong CSRF token")
            return ctx.finish(ctx.render("error.html", 403, title="Form refused", message=(
                "This form was refused because it did not carry this console's security "
                "token (it may have expired). Go back, reload the page and try again.")))
    return None


def _to_sign_in(ctx: Page) -> Response:
    notice = "expired" if ctx.expired else ""
    url = ctx.request.url
    target = url.path + (f"?{url.query}" if url.query else "")
    return ctx.finish(redirect(
        f"/login?next={quote(target, safe='')}" + (f"&notice={notice}" if notice else "")))


async def _error_page(ctx: Page, exc: PageRefusal) -> Response:
    if isinstance(exc, ForbiddenError):
        await _audit_refusal(ctx, exc.message)
    return ctx.render("error.html", exc.status, title=ERROR_TITLES[exc.status],
                      message=exc.message)


async def signed_in_user(request: Request, callers: Callers,
                          session: Session | None) -> tuple[User | None, Caller | None]:
    if session is None:
        return None, None
    user = await callers.user(session.user_id)
    if user is None or user.state != "active":
        return user, None
    if session.stage != Stage.signed_in:
        return user, None
    caller = await callers.of_user(user, client_ip(request))
    # Granted admin rights since signing in without MFA: not signed in until MFA is done.
    if needs_mfa(caller.permissions) and "mfa" not in session.row.amr:
        return user, None
    return user, caller


async def _audit_refusal(ctx: Page, reason: str) -> None:
    actor = ctx.caller.actor if ctx.caller else Actor("anonymous", "", "")
    target = f"{ctx.request.method} {shown_path(ctx.request.url.path)}"
    await ctx.runtime.hot.record(AuditEvent(
        timestamp=ctx.runtime.clock(), actor_kind=actor.kind, actor_id=actor.id,
        actor_name=actor.name, action="access.denied", entity_type="Console",
        entity_id=target[:64], entity_name=target[:320], result=Result.failure,
        remote_ip=client_ip(ctx.request), details={"reason": reason},
        actor_divisions=ctx.caller.divisions if ctx.caller else ()))
