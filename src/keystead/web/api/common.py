"""What every management handler does: one transaction, an authorised caller, audited changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from keystead.domain.audit import AuditEvent, JSONValue
from keystead.domain.errors import InvalidInputError, NotFoundError
from keystead.domain.principal import Caller
from keystead.store.audit import SqlAuditLog
from keystead.web.auth import authorize
from keystead.web.runtime import Runtime

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Call:
    runtime: Runtime
    conn: AsyncConnection
    caller: Caller

    async def record(self, action: str, *, entity_type: str, entity_id: str,
                     entity_name: str, details: dict[str, JSONValue] | None = None) -> None:
        actor = self.caller.actor
        await SqlAuditLog(self.conn).append(AuditEvent(
            timestamp=self.runtime.clock(), actor_kind=actor.kind, actor_id=actor.id,
            actor_name=actor.name, action=action, entity_type=entity_type, entity_id=entity_id,
            entity_name=entity_name, remote_ip=self.caller.remote_ip, details=details or {}))


@asynccontextmanager
async def call(request: Request, *, scope: str) -> AsyncIterator[Call]:
    """Open the request's transaction and authorise its token for ``scope``."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.transaction() as conn:
        caller = await authorize(request, runtime, conn, scope=scope)
        _refuse_nul(request)
        yield Call(runtime, conn, caller)


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
