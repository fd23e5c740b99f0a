"""Planned deactivations (SQLAlchemy Core over the request's connection; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from keystead.domain.governance.deactivation import Plan
from keystead.store import actors
from keystead.store.governance_tables import deactivation_plans as plans
from keystead.store.rows import first_row
from keystead.store.sql_store import SqlStore


def _plan(row: Row[Any]) -> Plan:
    return Plan(row.client_id, row.date, row.reason, row.replacement_id, row.planned_at,
                actors.from_json(row.planned_by), row.reminded_at,
                row.disabled_at)


def _values(plan: Plan) -> dict[str, Any]:
    return {"date": plan.date, "reason": plan.reason, "replacement_id": plan.replacement_id,
            "planned_at": plan.planned_at,
            "planned_by": actors.to_json(plan.planned_by),
            "reminded_at": plan.reminded_at, "disabled_at": plan.disabled_at}


class SqlDeactivationStore(SqlStore):
    async def find(self, client_id: str, *, for_update: bool = False) -> Plan | None:
        return await first_row(self.conn, plans, _plan, plans.c.client_id == client_id,
                               for_update=for_update)

    async def all(self, *, for_update: bool = False) -> Sequence[Plan]:
        query = select(plans).order_by(plans.c.date, plans.c.client_id)
        rows = await self.conn.execute(query.with_for_update() if for_update else query)
        return [_plan(row) for row in rows]

    async def add(self, plan: Plan) -> None:
        await self.conn.execute(insert(plans).values(client_id=plan.client_id, **_values(plan)))

    async def replace(self, plan: Plan) -> None:
        await self.conn.execute(update(plans).where(plans.c.client_id == plan.client_id)
                                .values(**_values(plan)))

    async def remove(self, client_id: str) -> None:
        await self.conn.execute(delete(plans).where(plans.c.client_id == client_id))
