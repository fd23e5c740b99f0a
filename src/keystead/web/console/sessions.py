"""Console sessions: a random id in an HttpOnly cookie, the session itself in the database.

The id is rotated whenever sign-in moves a stage forward (password, second factor), so a
session id planted before sign-in is worthless after it. Idle and absolute limits are checked
on every request; an expired session is deleted then and there.

A request writes the session's last-seen time only when the stored one is ``touch_interval`` old
(a minute, less for a short idle timeout), so page views do not write: each write takes the
SQLite write lock and makes every worker drop the reads the token hot path keeps. The stored
time therefore lags the last request by less than the interval, and the idle check compares
against the stored time: a session may end up to one interval before its idle timeout, never
after it. The interval is at most a tenth of the idle timeout, so a user whose requests come
less than nine tenths of it apart is never signed out for inactivity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.console_sessions import SessionRow
from keystead.web.runtime import Runtime

SESSION_COOKIE = "ks_session"
PRE_SESSION_COOKIE = "ks_csrf"  # binds the sign-in form's CSRF token before there is a session
# ASVS 3.3.1 / RFC 6265bis §4.1.3.2: a "__Host-" cookie is accepted only Secure, Path=/, without
# Domain, so no sibling subdomain or plain-http page can plant or shadow it. Browsers refuse the
# prefix without Secure, so a plain-http deployment (development) keeps the bare names.
HOST_PREFIX = "__Host-"
TOUCH_GRANULARITY = timedelta(minutes=1)  # the most often a session's last-seen time is written


class Stage:
    """How far sign-in got."""

    second_factor = "mfa"      # password accepted; a TOTP or recovery code is due
    enrol = "enrol"            # password accepted; the user must enrol a TOTP app first
    recovery_codes = "codes"   # enrolled; the recovery codes are being shown once
    signed_in = "in"


@dataclass(slots=True)
class Session:
    cookie: str
    row: SessionRow
    data: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> str:
        return self.row.stage

    @property
    def user_id(self) -> str:
        return self.row.user_id


@dataclass(frozen=True, slots=True)
class Loaded:
    session: Session | None
    expired: bool  # a session cookie was sent but its session has timed out


def is_secure(request: Request, runtime: Runtime) -> bool:
    return request.url.scheme == "https" or runtime.settings.issuer.startswith("https:")


def cookie_name(runtime: Runtime, name: str) -> str:
    """``name`` as this deployment sends it: ``__Host-`` prefixed when the issuer is https."""
    return HOST_PREFIX + name if runtime.settings.issuer.startswith("https:") else name


def session_cookie(request: Request, runtime: Runtime) -> str:
    """The session id the browser sent (empty when none)."""
    return request.cookies.get(cookie_name(runtime, SESSION_COOKIE), "")


def set_cookie(response: Response, request: Request, runtime: Runtime, name: str,
               value: str) -> None:
    """Set the cookie ``name`` (a bare name, prefixed here): HttpOnly, SameSite=Lax, Path=/,
    never a Domain; Secure on https (always, with the prefix)."""
    response.set_cookie(cookie_name(runtime, name), value, httponly=True, samesite="lax",
                        path="/", secure=is_secure(request, runtime))


def delete_cookie(response: Response, request: Request, runtime: Runtime, name: str) -> None:
    # The expiring Set-Cookie must carry the same attributes, or a browser refuses a prefixed one.
    response.delete_cookie(cookie_name(runtime, name), httponly=True, samesite="lax", path="/",
                           secure=is_secure(request, runtime))


async def load(request: Request, runtime: Runtime, conn: AsyncConnection) -> Loaded:
    """The request's session, touched when due (module docstring); None when there is none or
    it timed out (then deleted)."""
    cookie = session_cookie(request, runtime)
    if not cookie:
        return Loaded(None, expired=False)
    store = runtime.session_store(conn)
    digest = runtime.digester.session(cookie)
    row = None if digest is None else await store.find(digest)
    if row is None or digest is None:
        return Loaded(None, expired=False)
    now = runtime.clock()
    idle = timedelta(seconds=runtime.settings.session_idle_seconds)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        await store.delete(digest)
        return Loaded(None, expired=True)
    if now - row.last_seen_at >= touch_interval(idle):
        await store.touch(digest, now=now)
        row = replace(row, last_seen_at=now)
    return Loaded(Session(cookie, row, dict(row.data)), expired=False)


def touch_interval(idle: timedelta) -> timedelta:
    """How old the stored last-seen time may grow before a request rewrites it."""
    return min(TOUCH_GRANULARITY, idle / 10)


async def start(runtime: Runtime, conn: AsyncConnection, *, user_id: str, stage: str,
                amr: list[str], previous: Session | None = None,
                data: dict[str, str] | None = None) -> Session:
    """A new session (a fresh id) at ``stage``; ``previous`` is ended, its deadline kept."""
    store = runtime.session_store(conn)
    now = runtime.clock()
    expires = now + timedelta(seconds=runtime.settings.session_lifetime_seconds)
    created = now
    if previous is not None:
        await store.delete(previous.row.digest)
        expires, created = previous.row.expires_at, previous.row.created_at
    cookie, digest = runtime.digester.new_session()
    row = SessionRow(digest, user_id, stage, amr, data or {},
                     created, now, expires)
    await store.add(row)
    return Session(cookie, row, dict(row.data))


async def save_data(runtime: Runtime, conn: AsyncConnection, session: Session) -> None:
    await runtime.session_store(conn).touch(session.row.digest, now=runtime.clock(),
                                            data=session.data)


async def end(runtime: Runtime, conn: AsyncConnection, session: Session) -> None:
    await runtime.session_store(conn).delete(session.row.digest)
