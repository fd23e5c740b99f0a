"""The UsageCounts port: tokens from ``client_usage``, failures from the audit log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select

from keystead.domain.client_usage import UsageTotals
from keystead.store.sql_store import SqlStore
from keystead.store.tables import audit_events, client_usage


class SqlUsageCounts(SqlStore):
    async def totals(self, client_id: str, *, first_day: date, last_day: date) -> UsageTotals:
        issued = (await self.conn.execute(select(func.coalesce(func.sum(
            client_usage.c.tokens_issued), 0)).where(
            client_usage.c.client_id == client_id, client_usage.c.day >= first_day,
            client_usage.c.day <= last_day))).scalar_one()
        failures = (await self.conn.execute(select(func.coalesce(func.sum(
            _failures_in_row()), 0)).where(
            *_failed_authentications(client_id, first_day, last_day)))).scalar_one()
        return UsageTotals(int(issued), int(failures))

    async def by_day(self, client_id: str, *, first_day: date, last_day: date
                     ) -> Mapping[date, UsageTotals]:
        issued: dict[date, int] = {day: int(count) for day, count in await self.conn.execute(
            select(client_usage.c.day, client_usage.c.tokens_issued).where(
                client_usage.c.client_id == client_id, client_usage.c.day >= first_day,
                client_usage.c.day <= last_day))}
        # The UTC day of an audit timestamp is taken here, not in SQL: the two databases name
        # it differently (and PostgreSQL's would follow the session's time zone).
        failures: Counter[date] = Counter()
        for at, count in await self.conn.execute(
                select(audit_events.c.timestamp, _failures_in_row()).where(
                    *_failed_authentications(client_id, first_day, last_day))):
            failures[at.astimezone(UTC).date()] += int(count)
        return {day: UsageTotals(issued.get(day, 0), failures[day])
                for day in issued.keys() | failures.keys()}


def _failures_in_row() -> ColumnElement[int]:
    # Failures are aggregated (one row per client, source and reason per interval, with a
    # count); rows written before that carry no count and stand for one failure.
    return func.coalesce(audit_events.c.details["count"].as_integer(), 1)


def _failed_authentications(client_id: str, first_day: date,
                            last_day: date) -> tuple[ColumnElement[bool], ...]:
    since = datetime.combine(first_day, time(), UTC)
    until = datetime.combine(last_day, time(), UTC) + timedelta(days=1)
    return (audit_events.c.entity_id == client_id, audit_events.c.action == "authenticate",
            audit_events.c.result == "failure", audit_events.c.timestamp >= since,
            audit_events.c.timestamp < until)
