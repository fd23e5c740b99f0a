"""Divisions, roles and scopes (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.organization import Division, Role, Scope
from keystead.domain.scopes import SCIM_SCOPE
from keystead.store.tables import (
    ORG_ID,
    client_role_divisions,
    divisions,
    roles,
    scopes,
    user_grants,
)


def _role(r: Any) -> Role:
    return Role(r.id, r.name, r.description, tuple(r.permissions), r.builtin, r.date_created,
                r.date_modified)


def _division(r: Any) -> Division:
    return Division(r.id, r.name, r.description, r.home, r.date_created)


class SqlCatalog:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- the Catalog port used by client management
    async def known_scopes(self) -> frozenset[str]:
        rows = await self.conn.execute(select(scopes.c.id).where(
            scopes.c.organization_id == ORG_ID))
        return frozenset(r.id for r in rows)

    async def existing_roles(self, role_ids: Sequence[str]) -> dict[str, str]:
        if not role_ids:
            return {}
        rows = await self.conn.execute(select(roles.c.id, roles.c.name).where(
            roles.c.id.in_(list(role_ids))))
        return {r.id: r.name for r in rows}

    async def existing_divisions(self, division_ids: Sequence[str]) -> frozenset[str]:
        if not division_ids:
            return frozenset()
        rows = await self.conn.execute(select(divisions.c.id).where(
            divisions.c.id.in_(list(division_ids))))
        return frozenset(r.id for r in rows)

    async def home_division_id(self) -> str:
        row = (await self.conn.execute(select(divisions.c.id).where(
            divisions.c.organization_id == ORG_ID, divisions.c.home.is_(True)))).one()
        return str(row.id)

    async def scim_role_ids(self) -> frozenset[str]:
        # A role named for SCIM marks a provisioning integration (long-lived tokens allowed).
        rows = await self.conn.execute(select(roles.c.id, roles.c.name))
        return frozenset(r.id for r in rows if SCIM_SCOPE in r.name.lower().split())

    # -- divisions
    async def divisions(self) -> list[Division]:
        rows = await self.conn.execute(select(divisions).where(
            divisions.c.organization_id == ORG_ID).order_by(divisions.c.name))
        return [_division(r) for r in rows]

    async def division(self, division_id: str) -> Division | None:
        row = (await self.conn.execute(select(divisions).where(
            divisions.c.id == division_id))).first()
        return _division(row) if row else None

    async def add_division(self, division: Division) -> None:
        await self.conn.execute(insert(divisions).values(
            id=division.id, organization_id=ORG_ID, name=division.name,
            description=division.description, home=division.home,
            date_created=division.date_created))

    async def update_division(self, division_id: str, *, name: str, description: str) -> None:
        await self.conn.execute(update(divisions).where(divisions.c.id == division_id).values(
            name=name, description=description))

    async def division_in_use(self, division_id: str) -> bool:
        used = select(exists().where(client_role_divisions.c.division_id == division_id)
                      ).scalar_subquery()
        granted = select(exists().where(user_grants.c.division_id == division_id)
                         ).scalar_subquery()
        row = (await self.conn.execute(select(used, granted))).one()
        return bool(row[0] or row[1])

    async def delete_division(self, division_id: str) -> None:
        await self.conn.execute(delete(divisions).where(divisions.c.id == division_id))

    async def name_taken(self, table: str, name: str, *, except_id: str | None = None) -> bool:
        target = {"divisions": divisions, "roles": roles}[table]
        query = select(target.c.id).where(target.c.organization_id == ORG_ID,
                                          target.c.name == name)
        if except_id:
            query = query.where(target.c.id != except_id)
        return (await self.conn.execute(query)).first() is not None

    # -- roles
    async def roles(self) -> list[Role]:
        rows = await self.conn.execute(select(roles).where(
            roles.c.organization_id == ORG_ID).order_by(roles.c.name))
        return [_role(r) for r in rows]

    async def role(self, role_id: str) -> Role | None:
        row = (await self.conn.execute(select(roles).where(roles.c.id == role_id))).first()
        return _role(row) if row else None

    async def role_by_name(self, name: str) -> Role | None:
        row = (await self.conn.execute(select(roles).where(
            roles.c.organization_id == ORG_ID, roles.c.name == name))).first()
        return _role(row) if row else None

    async def add_role(self, role: Role) -> None:
        await self.conn.execute(insert(roles).values(
            id=role.id, organization_id=ORG_ID, name=role.name, description=role.description,
            permissions=list(role.permissions), builtin=role.builtin,
            date_created=role.date_created, date_modified=role.date_modified))

    async def update_role(self, role: Role) -> None:
        await self.conn.execute(update(roles).where(roles.c.id == role.id).values(
            name=role.name, description=role.description, permissions=list(role.permissions),
            date_modified=role.date_modified))

    async def role_in_use(self, role_id: str) -> bool:
        used = select(exists().where(client_role_divisions.c.role_id == role_id)
                      ).scalar_subquery()
        granted = select(exists().where(user_grants.c.role_id == role_id)).scalar_subquery()
        row = (await self.conn.execute(select(used, granted))).one()
        return bool(row[0] or row[1])

    async def delete_role(self, role_id: str) -> None:
        await self.conn.execute(delete(roles).where(roles.c.id == role_id))

    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]:
        if not role_ids:
            return frozenset()
        rows = await self.conn.execute(select(roles.c.permissions).where(
            roles.c.id.in_(list(role_ids))))
        return frozenset(p for r in rows for p in r.permissions)

    # -- scopes
    async def scopes(self) -> list[Scope]:
        rows = await self.conn.execute(select(scopes).where(
            scopes.c.organization_id == ORG_ID).order_by(scopes.c.id))
        return [Scope(r.id, r.description, r.builtin, r.resource_server) for r in rows]

    async def scope(self, scope_id: str) -> Scope | None:
        row = (await self.conn.execute(select(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id))).first()
        return Scope(row.id, row.description, row.builtin, row.resource_server) if row else None

    async def add_scope(self, scope: Scope) -> None:
        await self.conn.execute(insert(scopes).values(
            organization_id=ORG_ID, id=scope.id, description=scope.description,
            builtin=scope.builtin, resource_server=scope.resource_server))

    async def update_scope(self, scope_id: str, *, description: str,
                           resource_server: str | None) -> None:
        await self.conn.execute(update(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id).values(
            description=description, resource_server=resource_server))

    async def delete_scope(self, scope_id: str) -> None:
        await self.conn.execute(delete(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id))

