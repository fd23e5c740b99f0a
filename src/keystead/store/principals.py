"""The Principals port: a client's name and role grants, a user's grants, the organisation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from keystead.domain.clients import RoleDivision
from keystead.domain.users import User
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, client_role_divisions, clients, organizations
from keystead.store.users import SqlUserStore


class SqlPrincipals(SqlStore):
    async def client(self, client_id: str) -> tuple[str, Sequence[RoleDivision]] | None:
        name = (await self.conn.execute(select(clients.c.name).where(
            clients.c.id == client_id))).scalar_one_or_none()
        if name is None:
            return None
        rows = await self.conn.execute(select(client_role_divisions).where(
            client_role_divisions.c.client_id == client_id))
        return name, [RoleDivision(r.role_id, r.division_id) for r in rows]

    async def user(self, user_id: str) -> User | None:
        return await SqlUserStore(self.conn).find(user_id)

    async def user_grants(self, user_id: str) -> Sequence[RoleDivision]:
        return await SqlUserStore(self.conn).grants(user_id)

    async def organization_name(self) -> str:
        return (await self.conn.execute(select(organizations.c.name).where(
            organizations.c.id == ORG_ID))).scalar_one_or_none() or ""
