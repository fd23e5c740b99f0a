"""A client's usage over its last days: tokens issued and failed authentications (the Genesys
usage query's answer, and the console's chart of them day by day)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Protocol

from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Client
from keystead.domain.clock import Clock, last_days
from keystead.domain.governance.policy import PolicyStore
from keystead.domain.principal import Caller

CHART_DAYS = 90  # the console's usage chart: the last 90 UTC days, today included


@dataclass(frozen=True, slots=True)
class UsageTotals:
    issued: int
    failures: int


class UsageCounts(Protocol):
    async def totals(self, client_id: str, *, first_day: date, last_day: date) -> UsageTotals:
        """Tokens issued and authentications failed on the UTC days ``first_day`` through
        ``last_day``."""

    async def by_day(self, client_id: str, *, first_day: date, last_day: date
                     ) -> Mapping[date, UsageTotals]:
        """The same counts per UTC day; days with neither are absent."""


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """A client's counts on each of its last days, oldest first (a day with none counts 0)."""

    days: tuple[date, ...]
    issued: tuple[int, ...]
    failures: tuple[int, ...]
    # Failed authentications are read from the audit log, which the policy may archive sooner
    # than the chart reaches back: the first day still counted (None: every day of the chart).
    failures_from: date | None = None


@dataclass(slots=True)
class ClientUsage:
    management: ClientManagement
    counts: UsageCounts
    clock: Clock
    # Where the audit log's retention is read (failures are counted from the log).
    policies: PolicyStore

    async def totals(self, caller: Caller, client_id: str, *, first_day: date,
                     last_day: date) -> tuple[Client, UsageTotals]:
        """The client and its counts over the UTC days ``first_day`` through ``last_day``, for a
        caller who may view it.

        Raises:
            ForbiddenError, NotFoundError: as ``ClientManagement.find``.
        """
        client = await self.management.find(caller, client_id)
        return client, await self.counts.totals(client.id, first_day=first_day,
                                                last_day=last_day)

    async def daily(self, caller: Caller, client_id: str, *,
                    days: int = CHART_DAYS) -> DailyUsage:
        """The client's tokens issued and failed authentications on each of the last ``days``
        UTC days (today included), for a caller who may view it.

        Tokens are kept longer than any chart (``usage_retention_days`` is at least 366 days);
        failures as long as the audit log keeps its entries, which ``failures_from`` reports.

        Raises:
            ForbiddenError, NotFoundError: as ``ClientManagement.find``.
        """
        client = await self.management.find(caller, client_id)
        span = last_days(self.clock(), days)
        first, last = span[0], span[-1]
        found = await self.counts.by_day(client.id, first_day=first, last_day=last)
        none = UsageTotals(0, 0)
        failures_from = None
        audit_days = (await self.policies.find()).retention_days.get("audit")
        if audit_days is not None and last - timedelta(days=audit_days) > first:
            failures_from = last - timedelta(days=audit_days)
        return DailyUsage(span, tuple(found.get(d, none).issued for d in span),
                          tuple(found.get(d, none).failures for d in span), failures_from)

    def today(self) -> date:
        """The current UTC day (the days the counts are kept by)."""
        return self.clock().astimezone(UTC).date()
