"""Secret destinations and rotation schedules (SQLAlchemy Core over the caller's connection;
never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from keystead.domain.audit import Result
from keystead.domain.secret_delivery import Delivery, Schedule
from keystead.store import actors
from keystead.store.governance_tables import secret_destinations as destinations
from keystead.store.rows import first_row
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, audit_events


def _delivery(row: Row[Any]) -> Delivery:
    schedule = None if row.rotate_every_days is None else \
        Schedule(row.rotate_every_days, row.dual_use_seconds or 0)
    return Delivery(row.client_id, row.kind, dict(row.settings), schedule,
                    row.next_rotation_at, row.last_delivered_at, row.configured_at,
                    actors.from_json(row.configured_by))


def _values(delivery: Delivery) -> dict[str, Any]:
    schedule = delivery.schedule
    return {"kind": delivery.kind, "settings": dict(delivery.settings),
            "rotate_every_days": None if schedule is None else schedule.every_days,
            "dual_use_seconds": None if schedule is None else schedule.dual_use_seconds,
            "next_rotation_at": delivery.next_rotation_at,
            "last_delivered_at": delivery.last_delivered_at,
            "configured_at": delivery.configured_at,
            "configured_by": actors.to_json(delivery.configured_by)}


class SqlDeliveryStore(SqlStore):
    async def find(self, client_id: str, *, for_update: bool = False) -> Delivery | None:
        return await first_row(self.conn, destinations, _delivery,
                               destinations.c.client_id == client_id, for_update=for_update)

    async def put(self, delivery: Delivery) -> None:
        changed = await self.conn.execute(
            update(destinations).where(destinations.c.client_id == delivery.client_id)
            .values(**_values(delivery)))
        if changed.rowcount == 0:
            await self.conn.execute(insert(destinations).values(
                client_id=delivery.client_id, **_values(delivery)))

    async def remove(self, client_id: str) -> None:
        await self.conn.execute(delete(destinations).where(destinations.c.client_id == client_id))

    async def due(self, now: datetime) -> Sequence[Delivery]:
        rows = await self.conn.execute(
            select(destinations).where(destinations.c.next_rotation_at <= now)
            .order_by(destinations.c.next_rotation_at, destinations.c.client_id))
        return [_delivery(row) for row in rows]

    async def claim(self, client_id: str, *, seen: datetime, next_at: datetime,
                    delivered_at: datetime | None) -> bool:
        # On PostgreSQL a concurrent claim waits for this row's lock, then re-reads the row
        # and finds next_rotation_at moved on: it updates nothing. SQLite serialises writers.
        claimed = await self.conn.execute(
            update(destinations).where(destinations.c.client_id == client_id,
                                       destinations.c.next_rotation_at == seen)
            .values(next_rotation_at=next_at, last_delivered_at=delivered_at))
        return claimed.rowcount == 1


class SqlDeliveryRecord(SqlStore):
    """The DeliveryRecord port, read from the audit log: every delivery, done or failed, is a
    ``secret.deliver`` entry, so the newest one per client says how its last delivery went."""

    async def last_failures(self, client_ids: Sequence[str]
                            ) -> dict[str, tuple[datetime, str]]:
        if not client_ids:
            return {}
        rows = await self.conn.execute(
            select(audit_events.c.entity_id, audit_events.c.timestamp, audit_events.c.result,
                   audit_events.c.details)
            .where(audit_events.c.organization_id == ORG_ID,
                   audit_events.c.action == "secret.deliver",
                   audit_events.c.entity_id.in_(list(client_ids)))
            .order_by(audit_events.c.seq.desc()))
        newest: dict[str, tuple[datetime, str] | None] = {}
        for r in rows:
            if r.entity_id in newest:
                continue
            details = r.details if isinstance(r.details, dict) else {}
            newest[r.entity_id] = ((r.timestamp, str(details.get("error", "")))
                                   if r.result == Result.failure else None)
        return {client_id: failure for client_id, failure in newest.items()
                if failure is not None}
