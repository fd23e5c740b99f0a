"""create_app(settings): the ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from keystead.config import Settings
from keystead.domain.errors import DomainError, StoreUnavailableError
from keystead.log_setup import configure_logging
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.store.authorizations import SqlAuthorizationStore
from keystead.store.identity_providers import SqlAssertionLedger
from keystead.store.keys import SqlSigningKeys
from keystead.store.sessions import SqlSessionStore
from keystead.store.tokens import SqlTokenRevoker
from keystead.web import authorize, oauth
from keystead.web.api import (
    audits,
    authorization,
    clients,
    identity_providers,
    oauth_authorizations,
    scopes,
    subjects,
    tokens,
    users,
)
from keystead.web.console.routes import console_routes
from keystead.web.errors import bearer_error, domain_error, internal_error, unavailable
from keystead.web.fast_path import ProtocolFastPath
from keystead.web.runtime import Runtime, build_runtime, utc_now

log = logging.getLogger("keystead")
HOUSEKEEPING_INTERVAL_SECONDS = 60.0
# Each flush is a commit, which makes every worker drop its kept hot-path reads: not too often.
FLUSH_INTERVAL_SECONDS = 1.0


async def housekeeping(runtime: Runtime) -> None:
    """Delete clients whose dateToDelete has passed, revocations of expired tokens, usage older
    than a year, expired codes and refresh tokens, timed-out sessions and retired keys; pick up
    rotated signing keys."""
    async with runtime.transaction() as conn:
        deleted = await runtime.management(conn).purge_due()
        now = runtime.clock()
        await SqlTokenRevoker(conn).purge_expired(now=now)
        await SqlSessionStore(conn).purge_expired(now=now, idle_before=now - timedelta(
            seconds=runtime.settings.session_idle_seconds))
        await SqlAuthorizationStore(conn).purge_expired(now=now)
        await SqlSigningKeys(conn).purge_retired(now=now)
        await SqlAssertionLedger(conn).purge_expired(now)
    await runtime.reload_keys()
    if deleted:
        log.info("deleted %d client(s) whose dateToDelete passed", deleted)


async def _housekeeping_loop(runtime: Runtime) -> None:
    while True:
        try:
            await housekeeping(runtime)
        except StoreUnavailableError:
            log.warning("housekeeping skipped: store unreachable; retrying in %.0f s",
                        HOUSEKEEPING_INTERVAL_SECONDS)
        except Exception:
            # The loop must outlive a bad round: log it with its traceback and go on.
            log.exception("housekeeping failed; retrying in %.0f s", HOUSEKEEPING_INTERVAL_SECONDS)
        await asyncio.sleep(HOUSEKEEPING_INTERVAL_SECONDS)


async def _flush_loop(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Add the usage counted in memory to the store (see HotStore), a last time when stopping.

    Stopped by the event, never cancelled: a cancelled flush would leave its thread writing
    through a connection that shutdown then closes.
    """
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), FLUSH_INTERVAL_SECONDS)
        try:
            await runtime.hot.flush()
        except StoreUnavailableError:
            log.warning("usage counts kept for the next flush: store unreachable")
        except Exception:
            log.exception("usage flush failed; retrying in %.0f s", FLUSH_INTERVAL_SECONDS)
        if stopping.is_set():
            return


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)  # noqa: S101 - Starlette types handlers loosely
    return domain_error(exc)


async def _bearer_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidTokenError | InsufficientScopeError)  # noqa: S101
    return bearer_error(exc)


async def _unavailable(request: Request, _exc: Exception) -> Response:
    return unavailable(request)


async def _internal(request: Request, exc: Exception) -> Response:
    return internal_error(request, exc)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
               housekeeping_interval: bool = True) -> ProtocolFastPath:
    """Build the app; the database must have been initialised (``keystead init``).

    Configures the ``keystead`` loggers from ``settings`` (level and format).
    """
    configure_logging(settings.log_level, settings.log_format)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, clock=clock)
        app.state.runtime = runtime
        stopping = asyncio.Event()
        flusher = asyncio.create_task(_flush_loop(runtime, stopping))
        housekeeper = (asyncio.create_task(_housekeeping_loop(runtime))
                       if housekeeping_interval else None)
        try:
            yield
        finally:
            if housekeeper is not None:
                housekeeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeper
            stopping.set()
            await flusher
            await runtime.close()

    return ProtocolFastPath(Starlette(
        routes=[*oauth.routes, *authorize.routes, *clients.routes, *scopes.routes,
                *authorization.routes, *audits.routes, *tokens.routes, *users.routes,
                *subjects.routes, *identity_providers.routes, *oauth_authorizations.routes,
                *console_routes()],
        lifespan=lifespan,
        exception_handlers={
            DomainError: _domain_error,
            InvalidTokenError: _bearer_error,
            InsufficientScopeError: _bearer_error,
            StoreUnavailableError: _unavailable,
            Exception: _internal,
        },
    ))
