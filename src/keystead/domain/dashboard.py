"""The dashboard's reads: what needs an admin's attention and the last days' traffic, each part
only for a caller allowed to see its data.

The client parts (counts, secrets due, unused clients, the traffic trend) need
``oauth:client:view``; the audit parts (failed authentications, recent changes, implicit-grant
use) need ``audits:audit:view``. A part the caller may not see is ``None``, never an error: the
dashboard is everyone's landing page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from keystead.domain.audit_trail import StoredEvent
from keystead.domain.clock import Clock, last_days
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

TREND_DAYS = 30


@dataclass(frozen=True, slots=True)
class ClientAge:
    """A client and the instant that makes it worth a look (its secret's birth, its last use)."""

    id: str
    name: str
    state: str
    since: datetime | None
    date_created: datetime


@dataclass(frozen=True, slots=True)
class Listed:
    """The first rows of a list and how many rows the whole list has."""

    rows: Sequence[ClientAge]
    total: int


@dataclass(frozen=True, slots=True)
class ImplicitUse:
    client_id: str
    name: str
    uses: int
    last: datetime


@dataclass(frozen=True, slots=True)
class DayUse:
    """Every client's tokens issued and refused requests on one UTC day."""

    tokens: int = 0
    failures: int = 0


class DashboardReads(Protocol):
    """The dashboard's queries (``store/dashboard.py``): one statement per figure or list."""

    async def clients_by_state(self) -> dict[str, int]: ...

    async def stale_secrets(self, *, created_before: datetime, limit: int) -> Listed: ...

    async def unused_clients(self, *, idle_since: datetime, limit: int) -> Listed: ...

    async def failed_authentications(self, *, limit: int) -> Sequence[StoredEvent]: ...

    async def recent_changes(self, *, limit: int) -> Sequence[StoredEvent]: ...

    async def implicit_use(self, *, since: datetime, limit: int) -> list[ImplicitUse]: ...

    async def daily_use(self, since: date) -> Mapping[date, DayUse]:
        """The recorded evidence of use summed over all clients, per day from ``since``; days
        without any are absent."""
        ...


@dataclass(frozen=True, slots=True)
class ClientHealth:
    counts: dict[str, int]
    stale: Listed
    unused: Listed


@dataclass(frozen=True, slots=True)
class Trend:
    """One count per day of ``days`` (oldest first, today last) in each list."""

    days: Sequence[date]
    tokens: Sequence[int]
    failures: Sequence[int]


@dataclass(frozen=True, slots=True)
class AuditHighlights:
    failures: Sequence[StoredEvent]
    changes: Sequence[StoredEvent]
    implicit: Sequence[ImplicitUse]


@dataclass(slots=True)
class Dashboard:
    reads: DashboardReads
    clock: Clock

    async def clients(self, caller: Caller, *, rotation_days: int, unused_days: int,
                      limit: int) -> ClientHealth | None:
        """Clients by state, secrets older than ``rotation_days``, active clients unused for
        ``unused_days``; None without ``oauth:client:view``."""
        if not caller.has_permission(Permission.OAUTH_CLIENT_VIEW):
            return None
        now = self.clock()
        return ClientHealth(
            counts=await self.reads.clients_by_state(),
            stale=await self.reads.stale_secrets(
                created_before=now - timedelta(days=rotation_days), limit=limit),
            unused=await self.reads.unused_clients(
                idle_since=now - timedelta(days=unused_days), limit=limit))

    async def trend(self, caller: Caller, *, days: int = TREND_DAYS) -> Trend | None:
        """Tokens issued and requests refused per UTC day over the last ``days`` days (today
        included) by every client; None without ``oauth:client:view``."""
        if not caller.has_permission(Permission.OAUTH_CLIENT_VIEW):
            return None
        shown = last_days(self.clock(), days)
        use = await self.reads.daily_use(shown[0])
        empty = DayUse()
        return Trend(shown, [use.get(d, empty).tokens for d in shown],
                     [use.get(d, empty).failures for d in shown])

    async def audit(self, caller: Caller, *, recent: int, implicit_days: int,
                    limit: int) -> AuditHighlights | None:
        """The ``recent`` newest failed authentications and changes, and the clients that used
        the implicit grant in the last ``implicit_days``; None without ``audits:audit:view``."""
        if not caller.has_permission(Permission.AUDITS_AUDIT_VIEW):
            return None
        return AuditHighlights(
            failures=await self.reads.failed_authentications(limit=recent),
            changes=await self.reads.recent_changes(limit=recent),
            implicit=await self.reads.implicit_use(
                since=self.clock() - timedelta(days=implicit_days), limit=limit))
