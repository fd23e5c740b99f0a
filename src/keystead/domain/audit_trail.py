"""Reading the audit log: the entries as stored, the query an admin asks, and the use case that
decides who may read it (``audits:audit:view``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import AuditEvent, Result
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


@dataclass(frozen=True, slots=True)
class AuditTrail:
    queries: AuditQueries

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
