"""A client's usage over its last days: tokens issued and failed authentications (the Genesys
usage query's answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    async def totals(self, client_id: str, *, first_day: date, since: datetime) -> UsageTotals:
        """Tokens issued on the UTC days from ``first_day``; failures since ``since``."""


@dataclass(slots=True)
class ClientUsage:
    management: ClientManagement
    counts: UsageCounts
    clock: Clock

    async def totals(self, caller: Caller, client_id: str, *, days: int
                     ) -> tuple[Client, UsageTotals]:
        """The client and its counts over the last ``days`` UTC days, today included (the days
        the counts are kept by), for a caller who may view it.

        Raises:
            ForbiddenError, NotFoundError: as ``ClientManagement.find``.
        """
        client = await self.management.find(caller, client_id)
        first_day = self.clock().astimezone(UTC).date() - timedelta(days=days - 1)
        return client, await self.counts.totals(
            client.id, first_day=first_day, since=datetime.combine(first_day, time(), UTC))
