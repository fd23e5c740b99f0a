"""Reading the audit log: the entries as stored, the query an admin asks, and the use case that
decides who may read it (``audits:audit:view``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import AuditEvent, Auditor, Entity, Result
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An audit entry as the chain holds it: its place, its hashes and, for format-2 entries,
    the digest of its personal part (erasure rewrites that part, not the chain)."""

    id: str
    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str
    format: int = 1
    personal_salt: str | None = None
    personal_digest: str | None = None
    erased_by: str | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    start: datetime | None = None
    end: datetime | None = None
    entity_id: str | None = None
    entity_type: str | None = None
    action: str | None = None
    actor_id: str | None = None
    result: Result | None = None
    request_id: str | None = None
    page_number: int = 1
    page_size: int = 25
    newest_first: bool = True
    # An actor's exact id, or part of its name in any case (the console's "actor" filter).
    actor: str | None = None


class AuditQueries(Protocol):
    async def query(self, q: AuditQuery) -> tuple[Sequence[StoredEvent], int]:
        """One page of the entries matching ``q``, and how many match in all."""

    async def actions(self) -> list[str]:
        """Every action that occurs in the log, sorted."""

    async def head(self) -> tuple[int, str]:
        """The newest entry's sequence and hash."""

    async def count(self, q: AuditQuery, *, through_seq: int) -> int: ...

    async def batch_after(self, q: AuditQuery, *, after_seq: int, through_seq: int,
                          limit: int) -> list[StoredEvent]: ...


@dataclass(frozen=True, slots=True)
class Export:
    """An export's snapshot: the entries up to ``through_seq``, ``count`` of them matching."""

    through_seq: int
    count: int


@dataclass(frozen=True, slots=True)
class AuditTrail:
    queries: AuditQueries
    auditor: Auditor

    @staticmethod
    def check(caller: Caller) -> None:
        """Raises ForbiddenError unless the caller may read the audit log
        (``audits:audit:view``); every method below checks it too."""
        caller.require(Permission.AUDITS_AUDIT_VIEW)

    async def query(self, caller: Caller, q: AuditQuery
                    ) -> tuple[Sequence[StoredEvent], int]:
        self.check(caller)
        return await self.queries.query(q)

    async def actions(self, caller: Caller) -> list[str]:
        self.check(caller)
        return await self.queries.actions()

    async def start_export(self, caller: Caller, q: AuditQuery, *, fmt: str,
                           filters: Mapping[str, str]) -> Export:
        """Fix the export's snapshot and record the export (with its filters) before any
        entry goes out, so it is on record even if the download is cut short; its own entry
        is past the snapshot, so not in it."""
        self.check(caller)
        through, _ = await self.queries.head()
        count = await self.queries.count(q, through_seq=through)
        await self.auditor.record(caller, "audit.export",
                                  Entity("AuditLog", "audit-log", "Audit log"),
                                  {"format": fmt, "filters": dict(filters), "events": count,
                                   "throughSeq": through})
        return Export(through, count)

    async def export_batch(self, caller: Caller, q: AuditQuery, *, after_seq: int,
                           through_seq: int, limit: int) -> list[StoredEvent]:
        """The next ``limit`` entries of an export, oldest first, in ``(after_seq,
        through_seq]``: exports walk the log in batches, each in its own short transaction."""
        self.check(caller)
        return await self.queries.batch_after(q, after_seq=after_seq, through_seq=through_seq,
                                              limit=limit)
