"""Roles (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update

from keystead.domain.organization import Role
from keystead.store.rows import first_row, organisation_rows, referred_to
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, client_role_divisions, roles, user_grants


def _role(r: Any) -> Role:
    return Role(r.id, r.name, r.description, tuple(r.permissions), r.builtin, r.date_created,
                r.date_modified)


class SqlRoleStore(SqlStore):
    """The RoleStore port."""

    async def list(self) -> list[Role]:
        return await organisation_rows(self.conn, roles, _role, roles.c.name)

    async def find(self, role_id: str) -> Role | None:
        return await first_row(self.conn, roles, _role, roles.c.id == role_id)

    async def by_name(self, name: str) -> Role | None:
        return await first_row(self.conn, roles, _role,
                               roles.c.organization_id == ORG_ID, roles.c.name == name)

    async def add(self, role: Role) -> None:
        await self.conn.execute(insert(roles).values(
            id=role.id, organization_id=ORG_ID, name=role.name, description=role.description,
            permissions=list(role.permissions), builtin=role.builtin,
            date_created=role.date_created, date_modified=role.date_modified))

    async def update(self, role: Role) -> None:
        await self.conn.execute(update(roles).where(roles.c.id == role.id).values(
            name=role.name, description=role.description, permissions=list(role.permissions),
            date_modified=role.date_modified))

    async def in_use(self, role_id: str) -> bool:
        return await referred_to(self.conn, client_role_divisions.c.role_id == role_id,
                                 user_grants.c.role_id == role_id)

    async def delete(self, role_id: str) -> None:
        await self.conn.execute(delete(roles).where(roles.c.id == role_id))
