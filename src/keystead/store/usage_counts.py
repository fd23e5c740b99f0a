"""The UsageCounts port: tokens from ``client_usage``, failures from the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.client_usage import UsageTotals
from keystead.store.tables import audit_events, client_usage


@dataclass(slots=True)
class SqlUsageCounts:
    conn: AsyncConnection

    async def totals(self, client_id: str, *, first_day: date, since: datetime) -> UsageTotals:
        issued = (await self.conn.execute(select(func.coalesce(func.sum(
            client_usage.c.tokens_issued), 0)).where(
            client_usage.c.client_id == client_id, client_usage.c.day >= first_day))).scalar_one()
        # Failures are aggregated (one row per client, source and reason per interval, with a
        # count); rows written before that carry no count and stand for one failure.
        failures = (await self.conn.execute(select(func.coalesce(func.sum(func.coalesce(
            audit_events.c.details["count"].as_integer(), 1)), 0)).where(
            audit_events.c.entity_id == client_id, audit_events.c.action == "authenticate",
            audit_events.c.result == "failure", audit_events.c.timestamp >= since))).scalar_one()
        return UsageTotals(int(issued), int(failures))
