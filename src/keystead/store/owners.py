"""The OwnerDirectory port: clients' owners read from the users table (Core; never commits)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import select

from keystead.domain.governance.ownership import Owner
from keystead.domain.users import UserState
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, users


class SqlOwnerDirectory(SqlStore):
    async def owners(self, user_ids: Collection[str]) -> Mapping[str, Owner]:
        if not user_ids:
            return {}
        rows = await self.conn.execute(
            select(users.c.id, users.c.name, users.c.email, users.c.state).where(
                users.c.organization_id == ORG_ID, users.c.id.in_(sorted(set(user_ids)))))
        return {r.id: Owner(r.id, r.name, r.email, r.state == UserState.active) for r in rows}

    async def active(self, *, limit: int) -> Sequence[Owner]:
        rows = await self.conn.execute(
            select(users.c.id, users.c.name, users.c.email).where(
                users.c.organization_id == ORG_ID, users.c.state == str(UserState.active))
            .order_by(users.c.name, users.c.email).limit(limit))
        return [Owner(r.id, r.name, r.email, True) for r in rows]
