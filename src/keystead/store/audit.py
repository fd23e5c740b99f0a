"""The audit log: append-only, hash-chained, queried by the realtime API and verified by the CLI."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update

from keystead.domain.audit import (
    ENTRY_FORMAT,
    AuditEvent,
    Result,
    chain_hash_v2,
    personal_digest,
)
from keystead.domain.audit_trail import AuditQuery, StoredEvent
from keystead.request_context import current_request_id
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, audit_events, audit_head

__all__ = ["AuditQuery", "Checkpoint", "SqlAuditLog", "StoredEvent", "stored_event"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last removed entry's sequence and hash (0 and the genesis hash before any), and per
    erasure id the count and XOR of its marks that were archived with them."""

    seq: int
    hash: str
    erasures: dict[str, Any]


def _conditions(q: AuditQuery) -> list[ColumnElement[bool]]:
    conditions = [audit_events.c.organization_id == ORG_ID]
    for column, value in (
        (audit_events.c.entity_id, q.entity_id), (audit_events.c.entity_type, q.entity_type),
        (audit_events.c.action, q.action), (audit_events.c.actor_id, q.actor_id),
        (audit_events.c.result, str(q.result) if q.result else None),
        (audit_events.c.request_id, q.request_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if q.start is not None:
        conditions.append(audit_events.c.timestamp >= q.start)
    if q.end is not None:
        conditions.append(audit_events.c.timestamp < q.end)
    if q.actor is not None:
        # autoescape: a % or _ in the text matches itself, not any character.
        conditions.append(or_(
            audit_events.c.actor_id == q.actor,
            func.lower(audit_events.c.actor_name).contains(q.actor.lower(), autoescape=True)))
    return conditions


def stored_event(r: Any) -> StoredEvent:
    """A row of ``audit_events`` as a StoredEvent."""
    return StoredEvent(r.id, r.seq, AuditEvent(
        timestamp=r.timestamp, actor_kind=r.actor_kind, actor_id=r.actor_id,
        actor_name=r.actor_name, action=r.action, entity_type=r.entity_type,
        entity_id=r.entity_id, entity_name=r.entity_name, result=Result(r.result),
        remote_ip=r.remote_ip, details=r.details,
        actor_divisions=tuple(r.actor_divisions or ()), request_id=r.request_id or ""),
        r.prev_hash, r.hash, int(r.format), r.personal_salt, r.personal_digest, r.erased_by)


def stamped(event: AuditEvent) -> AuditEvent:
    """The event with the id of the request being served, unless it names one already."""
    if event.request_id:
        return event
    request_id = current_request_id()
    return replace(event, request_id=request_id) if request_id else event


def chain_entry(event: AuditEvent, *, seq: int, prev_hash: str) -> dict[str, Any]:
    """The ``audit_events`` row that appends ``event`` after the entry ``seq - 1`` (whose hash
    is ``prev_hash``): the one place its columns are named, for both ways of appending."""
    event = stamped(event)
    salt = secrets.token_hex(16)
    digest = personal_digest(event, salt)
    return {
        "organization_id": ORG_ID, "seq": seq, "id": str(uuid.uuid4()),
        "timestamp": event.timestamp, "actor_kind": event.actor_kind,
        "actor_id": event.actor_id, "actor_name": event.actor_name, "action": event.action,
        "entity_type": event.entity_type, "entity_id": event.entity_id,
        "entity_name": event.entity_name, "result": str(event.result),
        "remote_ip": event.remote_ip, "details": event.details,
        "request_id": event.request_id, "actor_divisions": list(event.actor_divisions),
        "prev_hash": prev_hash, "hash": chain_hash_v2(prev_hash, seq, event, digest),
        "format": ENTRY_FORMAT, "personal_salt": salt, "personal_digest": digest}


class SqlAuditLog(SqlStore):
    async def append(self, event: AuditEvent) -> None:
        # Bumping the head first takes its row lock (PostgreSQL) or the write lock (SQLite),
        # so concurrent appenders queue up instead of forking the chain.
        head = (await self.conn.execute(
            update(audit_head).where(audit_head.c.organization_id == ORG_ID)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.last_hash))).one()
        entry = chain_entry(event, seq=head.seq, prev_hash=head.last_hash)
        await self.conn.execute(insert(audit_events).values(entry))
        await self.conn.execute(update(audit_head).where(
            audit_head.c.organization_id == ORG_ID).values(last_hash=entry["hash"]))

    async def query(self, q: AuditQuery) -> tuple[Sequence[StoredEvent], int]:
        conditions = _conditions(q)
        total = (await self.conn.execute(
            select(func.count()).select_from(audit_events).where(*conditions))).scalar_one()
        order = audit_events.c.seq.desc() if q.newest_first else audit_events.c.seq
        rows = await self.conn.execute(
            select(audit_events).where(*conditions).order_by(order)
            .limit(q.page_size).offset((q.page_number - 1) * q.page_size))
        return [stored_event(r) for r in rows], int(total)

    async def count(self, q: AuditQuery, *, through_seq: int) -> int:
        """How many events up to ``through_seq`` match ``q`` (its paging is ignored)."""
        return int((await self.conn.execute(select(func.count()).select_from(audit_events).where(
            *_conditions(q), audit_events.c.seq <= through_seq))).scalar_one())

    async def batch_after(self, q: AuditQuery, *, after_seq: int, through_seq: int,
                          limit: int) -> list[StoredEvent]:
        """The next ``limit`` events matching ``q``, oldest first, in ``(after_seq, through_seq]``.

        Exports walk the log in such batches, each in its own short transaction, so neither a
        long download nor a large log holds a transaction open or builds one giant list. The
        log is append-only, so the batches together are one consistent snapshot.
        """
        rows = await self.conn.execute(
            select(audit_events).where(*_conditions(q), audit_events.c.seq > after_seq,
                                       audit_events.c.seq <= through_seq)
            .order_by(audit_events.c.seq).limit(limit))
        return [stored_event(r) for r in rows]

    async def actions(self) -> list[str]:
        """Every action that occurs in the log, sorted."""
        rows = await self.conn.execute(
            select(audit_events.c.action).where(audit_events.c.organization_id == ORG_ID)
            .distinct().order_by(audit_events.c.action))
        return [str(r.action) for r in rows]

    async def all_in_order(self) -> AsyncIterator[StoredEvent]:
        result = await self.conn.stream(select(audit_events).where(
            audit_events.c.organization_id == ORG_ID).order_by(audit_events.c.seq))
        async for row in result:
            yield stored_event(row)

    async def head(self) -> tuple[int, str]:
        row = (await self.conn.execute(select(audit_head).where(
            audit_head.c.organization_id == ORG_ID))).one()
        return int(row.seq), str(row.last_hash)

    async def checkpoint(self) -> Checkpoint:
        """Where the chain in the database starts (after archived entries were removed)."""
        row = (await self.conn.execute(select(audit_head).where(
            audit_head.c.organization_id == ORG_ID))).one()
        return Checkpoint(int(row.checkpoint_seq), str(row.checkpoint_hash),
                          dict(row.checkpoint_erasures or {}))
