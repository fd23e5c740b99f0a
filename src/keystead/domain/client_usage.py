"""A client's usage over its last days: tokens issued and failed authentications (the Genesys
usage query's answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from typing import Protocol

from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Client
from keystead.domain.clock import Clock
from keystead.domain.principal import Caller


@dataclass(frozen=True, slots=True)
class UsageTotals:
    issued: int
    failures: int


class UsageCounts(Protocol):
    async def totals(self, client_id: str, *, first_day: date, last_day: date) -> UsageTotals:
        """Tokens issued and authentications failed on the UTC days ``first_day`` through
        ``last_day``."""


@dataclass(slots=True)
class ClientUsage:
    management: ClientManagement
    counts: UsageCounts
    clock: Clock

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

    def today(self) -> date:
        """The current UTC day (the days the counts are kept by)."""
        return self.clock().astimezone(UTC).date()
