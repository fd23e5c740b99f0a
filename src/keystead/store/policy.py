"""The governance policy row (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from keystead.domain.clients import Actor
from keystead.domain.governance.policy import (
    WIRE_NAMES,
    Policy,
    policy_from_document,
    to_document,
)
from keystead.store import actors
from keystead.store.governance_tables import governance_policies
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID


class SqlPolicyStore(SqlStore):
    """The PolicyStore port: one row per organisation, absent until first saved."""

    async def find(self) -> Policy:
        document = (await self.conn.execute(select(governance_policies.c.document).where(
            governance_policies.c.organization_id == ORG_ID))).scalar_one_or_none()
        # Fields unknown to this version (written by a newer one) are ignored, not fatal.
        return Policy() if document is None else policy_from_document(
            {k: v for k, v in document.items() if k in WIRE_NAMES})

    async def save(self, policy: Policy, *, actor: Actor, now: datetime) -> None:
        values = {"document": to_document(policy), "date_modified": now,
                  "modified_by": actors.to_json(actor)}
        done = await self.conn.execute(update(governance_policies).where(
            governance_policies.c.organization_id == ORG_ID).values(**values))
        if done.rowcount == 0:
            await self.conn.execute(insert(governance_policies).values(
                organization_id=ORG_ID, **values))
