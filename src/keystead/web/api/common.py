"""What every management handler does: one transaction, an authorised caller, audited changes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.clients import Actor
from keystead.domain.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)
from keystead.domain.principal import Caller
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.request_context import note_client
from keystead.web.api.console_calls import console_caller, is_console_call
from keystead.web.auth import authorize, client_ip, management_token
from keystead.web.runtime import Runtime

MAX_PAGE_SIZE = 500
log = logging.getLogger("keystead.web")


@dataclass(frozen=True, slots=True)
class Call:
    runtime: Runtime
    conn: AsyncConnection
    caller: Caller


@asynccontextmanager
async def call(request: Request, *, scope: str,
               before_transaction: Callable[[], Awaitable[None]] | None = None,
               ) -> AsyncIterator[Call]:
    """Authorise the request's token for ``scope``, then open the request's transaction.

    Authorisation comes before any input is read: without a valid token the answer is 401
    whatever the body holds (SDKs refresh on 401; strangers learn nothing of the input rules).
    Every refusal (401, 403) is audited, in its own transaction since the request's rolls back.
    ``before_transaction`` runs once the token is valid, before the transaction opens (which
    on SQLite holds the write lock). A console call (``console_calls``) acts as the signed-in
    user instead of a token.
    """
    runtime: Runtime = request.app.state.runtime
    actor = Actor("anonymous", "", "")
    divisions: tuple[str, ...] = ()
    try:
        if is_console_call(request):  # the API Explorer, with the admin's console session
            async with runtime.transaction() as conn:
                caller = await console_caller(request, runtime, conn)
                actor, divisions = caller.actor, caller.divisions
                _refuse_nul(request)
                yield Call(runtime, conn, caller)
            return
        token = await management_token(request, runtime)
        actor = Actor("client", token.client_id, "")
        note_client(token.client_id)  # for the request's access line
        if before_transaction is not None:
            await before_transaction()
        async with runtime.transaction() as conn:
            caller = await authorize(request, token, runtime.callers(conn), scope=scope)
            actor, divisions = caller.actor, caller.divisions
            _refuse_nul(request)
            yield Call(runtime, conn, caller)
        if caller.actor.kind == "client":  # committed: a user's token acts as the user
            runtime.recorder.permissions(caller.actor.id, caller.exercised)
    except (InvalidTokenError, InsufficientScopeError, ForbiddenError) as exc:
        await record_denial(runtime, request, actor, exc, divisions=divisions)
        raise


async def record_denial(runtime: Runtime, request: Request, actor: Actor,
                        exc: InvalidTokenError | InsufficientScopeError | ForbiddenError, *,
                        divisions: tuple[str, ...] = ()) -> None:
    """Audit a refused API call and log a warning (no token, a bad one, or too little)."""
    reason = exc.message if isinstance(exc, ForbiddenError) else (exc.description or exc.error)
    target = f"{request.method} {request.url.path}"
    log.warning("access denied to %s: %s", target, reason,
                extra={"fields": {"actor_kind": actor.kind, "actor_id": actor.id}})
    try:
        await runtime.hot.record(AuditEvent(
            timestamp=runtime.clock(), actor_kind=actor.kind, actor_id=actor.id,
            actor_name=actor.name, action="access.denied", entity_type="API",
            entity_id=target[:64], entity_name=target[:320], result=Result.failure,
            remote_ip=client_ip(request), details={"reason": reason},
            actor_divisions=divisions))
    except StoreUnavailableError:
        log.warning("could not audit a refused %s: store unreachable", target)


def _refuse_nul(request: Request) -> None:
    """No id or filter holds NUL, and PostgreSQL text cannot: answer 404/400, never 500.

    Raises:
        NotFoundError, InvalidInputError.
    """
    if any("\x00" in str(value) for value in request.path_params.values()):
        raise NotFoundError("no such entity")
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise InvalidInputError.one(name, "invalid.character", "text must not contain NUL")


def paging(request: Request) -> tuple[int, int]:
    """``pageNumber`` (from 1) and ``pageSize`` (1-500, default 25).

    Raises:
        InvalidInputError: not whole numbers in range.
    """
    values = []
    for name, default, low, high in (("pageNumber", 1, 1, 10**6),
                                     ("pageSize", 25, 1, MAX_PAGE_SIZE)):
        raw = request.query_params.get(name, str(default))
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise InvalidInputError.one(name, "out.of.range",
                                        f"{name} must be a whole number from {low} to {high}")
        values.append(int(raw))
    return values[0], values[1]
