"""The audit stream's reads: entries after a sequence number, and the cursor per target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.domain.audit_stream import Streamed
from keystead.store.audit import stored_event
from keystead.store.availability import reachable
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, audit_events
from keystead.store.webhook_tables import audit_stream_cursors


class SqlAuditTail(SqlStore):
    """The AuditTail port."""

    async def cursor(self, target: str) -> int:
        found = (await self.conn.execute(select(audit_stream_cursors.c.seq).where(
            audit_stream_cursors.c.target == target))).scalar_one_or_none()
        return int(found or 0)

    async def after(self, seq: int, *, limit: int) -> list[Streamed]:
        rows = await self.conn.execute(select(audit_events).where(
            audit_events.c.organization_id == ORG_ID, audit_events.c.seq > seq).order_by(
            audit_events.c.seq).limit(limit))
        return [Streamed(s.seq, s.id, s.event, s.hash) for s in map(stored_event, rows)]

    async def advance(self, target: str, *, from_seq: int, to_seq: int) -> bool:
        if from_seq == 0 and await self.cursor(target) == 0:
            exists = (await self.conn.execute(select(audit_stream_cursors.c.target).where(
                audit_stream_cursors.c.target == target))).first()
            if exists is None:
                await self.conn.execute(insert(audit_stream_cursors).values(
                    target=target, seq=to_seq))
                return True
        done = await self.conn.execute(update(audit_stream_cursors).where(
            audit_stream_cursors.c.target == target,
            audit_stream_cursors.c.seq == from_seq).values(seq=to_seq))
        return bool(done.rowcount)


def audit_tails(engine: AsyncEngine) -> Callable[[], AbstractAsyncContextManager[SqlAuditTail]]:
    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlAuditTail]:
        async with reachable(engine) as conn:
            yield SqlAuditTail(conn)

    return transaction
