"""Planned deactivations (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.clients import Actor
from keystead.domain.governance.deactivation import DeactivationPlan
from keystead.store.tables import deactivation_plans as table


def _plan(r: Any) -> DeactivationPlan:
    return DeactivationPlan(
        client_id=r["client_id"], client_name=r["client_name"],
        deactivate_at=r["deactivate_at"], reason=r["reason"],
        replacement_client_id=r["replacement_client_id"],
        planned_by=Actor(**r["planned_by"]), planned_at=r["planned_at"],
        reminded_at=r["reminded_at"])


class SqlDeactivationPlanStore:
    """The DeactivationPlanStore port."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def save(self, plan: DeactivationPlan) -> None:
        values = {"client_name": plan.client_name, "deactivate_at": plan.deactivate_at,
                  "reason": plan.reason, "replacement_client_id": plan.replacement_client_id,
                  "planned_by": {"kind": plan.planned_by.kind, "id": plan.planned_by.id,
                                 "name": plan.planned_by.name},
                  "planned_at": plan.planned_at, "reminded_at": plan.reminded_at}
        done = await self.conn.execute(update(table).where(
            table.c.client_id == plan.client_id).values(**values))
        if not done.rowcount:
            await self.conn.execute(insert(table).values(client_id=plan.client_id, **values))

    async def find(self, client_id: str) -> DeactivationPlan | None:
        row = (await self.conn.execute(select(table).where(table.c.client_id == client_id))
               ).mappings().one_or_none()
        return _plan(row) if row else None

    async def remove(self, client_id: str) -> None:
        await self.conn.execute(delete(table).where(table.c.client_id == client_id))

    async def all(self) -> Sequence[DeactivationPlan]:
        rows = (await self.conn.execute(select(table).order_by(
            table.c.deactivate_at, table.c.client_id))).mappings().all()
        return [_plan(r) for r in rows]

    async def due_for_reminder(self, now: datetime, notice: timedelta
                               ) -> Sequence[DeactivationPlan]:
        # SKIP LOCKED: replicas running housekeeping at once never remind twice.
        rows = (await self.conn.execute(select(table).where(
            table.c.reminded_at.is_(None), table.c.deactivate_at > now,
            table.c.deactivate_at <= now + notice).with_for_update(skip_locked=True))
                ).mappings().all()
        return [_plan(r) for r in rows]

    async def due(self, now: datetime) -> Sequence[DeactivationPlan]:
        rows = (await self.conn.execute(select(table).where(
            table.c.deactivate_at <= now).with_for_update(skip_locked=True))).mappings().all()
        return [_plan(r) for r in rows]
