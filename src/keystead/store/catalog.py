"""The Catalog port: roles, divisions and scopes as the client and user rules read them
(SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from keystead.domain.scopes import SCIM_SCOPE
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, divisions, roles, scopes


class SqlCatalog(SqlStore):
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

    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]:
        if not role_ids:
            return frozenset()
        rows = await self.conn.execute(select(roles.c.permissions).where(
            roles.c.id.in_(list(role_ids))))
        return frozenset(p for r in rows for p in r.permissions)
