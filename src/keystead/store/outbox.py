"""The outbox table (SQLAlchemy Core; never commits): queue, lease, mark sent or failed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.domain.audit import JSONValue
from keystead.domain.outbox import OutboxMessage
from keystead.store.availability import reachable
from keystead.store.governance_tables import outbox
from keystead.store.sql_store import SqlStore


class SqlOutbox(SqlStore):
    """The Outbox and OutboxLedger ports on one connection."""

    async def enqueue(self, channel: str, payload: dict[str, JSONValue], *,
                      now: datetime, ordering_key: str | None = None) -> str:
        message_id = str(uuid.uuid4())
        seq: Any = None
        if ordering_key is not None:
            # The key's next number, in the INSERT itself; two transactions queueing for one
            # key at the same instant may draw the same number (then the id breaks the tie):
            # their order was a coin toss anyway.
            last = outbox.alias("last")
            seq = select(func.coalesce(func.max(last.c.ordering_seq), 0) + 1).where(
                last.c.ordering_key == ordering_key).scalar_subquery()
        await self.conn.execute(insert(outbox).values(
            id=message_id, channel=channel, payload=payload, created_at=now, attempts=0,
            next_attempt_at=now, ordering_key=ordering_key, ordering_seq=seq))
        return message_id

    async def withdraw(self, ordering_key: str) -> int:
        done = await self.conn.execute(delete(outbox).where(
            outbox.c.ordering_key == ordering_key, outbox.c.sent_at.is_(None)))
        return int(done.rowcount or 0)

    async def claim(self, *, owner: str, channels: Sequence[str], now: datetime,
                    lease_until: datetime, limit: int) -> list[OutboxMessage]:
        # SKIP LOCKED on PostgreSQL: senders on other replicas pass over the rows this one is
        # leasing instead of waiting; SQLite serialises writers anyway. The lease itself (not
        # the row lock, gone at commit) is what keeps the others away during delivery.
        # Only the first unsent message of an ordering key may go: one that is failing (or
        # leased) holds back the key's later ones.
        earlier = outbox.alias("earlier")
        held_back = exists().where(
            earlier.c.ordering_key == outbox.c.ordering_key, earlier.c.sent_at.is_(None),
            or_(earlier.c.ordering_seq < outbox.c.ordering_seq,
                and_(earlier.c.ordering_seq == outbox.c.ordering_seq,
                     earlier.c.id < outbox.c.id)))
        due = (await self.conn.execute(
            select(outbox.c.id).where(
                outbox.c.sent_at.is_(None), outbox.c.channel.in_(list(channels)),
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
                or_(outbox.c.ordering_key.is_(None), ~held_back))
            .order_by(outbox.c.created_at, outbox.c.id).limit(limit)
            .with_for_update(skip_locked=True))).scalars().all()
        if not due:
            return []
        # The UPDATE checks again: where the SELECT took no lock (SQLite), another sender may
        # have leased a row in between, and only one of the two updates finds it free.
        await self.conn.execute(update(outbox).where(
            outbox.c.id.in_(due), outbox.c.sent_at.is_(None),
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now)).values(
            lease_owner=owner, lease_until=lease_until, attempts=outbox.c.attempts + 1))
        rows = (await self.conn.execute(select(outbox).where(
            outbox.c.id.in_(due), outbox.c.lease_owner == owner,
            outbox.c.lease_until == lease_until).order_by(
            outbox.c.created_at, outbox.c.id))).mappings().all()
        return [OutboxMessage(id=r["id"], channel=r["channel"], payload=dict(r["payload"]),
                              created_at=r["created_at"], attempts=r["attempts"]) for r in rows]

    async def mark_sent(self, message_id: str, *, owner: str, now: datetime,
                        payload: dict[str, JSONValue] | None = None) -> None:
        # Sent is sent, even if this sender's lease ran out meanwhile and another claimed it:
        # the other's copy is the "at least once".
        del owner
        values: dict[str, Any] = {"sent_at": now, "lease_owner": None, "lease_until": None,
                                  "last_error": None}
        if payload is not None:
            values["payload"] = payload
        await self.conn.execute(update(outbox).where(
            outbox.c.id == message_id, outbox.c.sent_at.is_(None)).values(**values))

    async def mark_failed(self, message_id: str, *, owner: str, error: str,
                          retry_at: datetime) -> None:
        await self.conn.execute(update(outbox).where(
            outbox.c.id == message_id, outbox.c.lease_owner == owner,
            outbox.c.sent_at.is_(None)).values(
            lease_owner=None, lease_until=None, next_attempt_at=retry_at, last_error=error))

    async def purge_sent(self, *, before: datetime) -> int:
        """Delete messages sent before ``before``; unsent ones are never purged."""
        done = await self.conn.execute(delete(outbox).where(
            outbox.c.sent_at.is_not(None), outbox.c.sent_at < before))
        return int(done.rowcount or 0)


def outbox_transactions(engine: AsyncEngine
                        ) -> Callable[[], AbstractAsyncContextManager[SqlOutbox]]:
    """A short transaction of its own per use, as the outbox sender needs."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlOutbox]:
        async with reachable(engine) as conn:
            yield SqlOutbox(conn)

    return transaction
