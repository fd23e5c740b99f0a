"""Scopes (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.organization import Scope
from keystead.store.tables import ORG_ID, scopes


class SqlScopeStore:
    """The ScopeStore port (SqlClientStore answers ScopeHolders)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def list(self) -> list[Scope]:
        rows = await self.conn.execute(select(scopes).where(
            scopes.c.organization_id == ORG_ID).order_by(scopes.c.id))
        return [Scope(r.id, r.description, r.builtin, r.resource_server) for r in rows]

    async def find(self, scope_id: str) -> Scope | None:
        row = (await self.conn.execute(select(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id))).first()
        return Scope(row.id, row.description, row.builtin, row.resource_server) if row else None

    async def add(self, scope: Scope) -> None:
        await self.conn.execute(insert(scopes).values(
            organization_id=ORG_ID, id=scope.id, description=scope.description,
            builtin=scope.builtin, resource_server=scope.resource_server))

    async def update(self, scope_id: str, *, description: str,
                     resource_server: str | None) -> None:
        await self.conn.execute(update(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id).values(
            description=description, resource_server=resource_server))

    async def delete(self, scope_id: str) -> None:
        await self.conn.execute(delete(scopes).where(
            scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id))
