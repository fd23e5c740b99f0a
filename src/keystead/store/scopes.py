"""Scopes (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update

from keystead.domain.organization import Scope
from keystead.store.rows import first_row, organisation_rows
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, scopes


def _scope(r: Any) -> Scope:
    return Scope(r.id, r.description, r.builtin, r.resource_server)


class SqlScopeStore(SqlStore):
    """The ScopeStore port (SqlClientStore answers ScopeHolders)."""

    async def list(self) -> list[Scope]:
        return await organisation_rows(self.conn, scopes, _scope, scopes.c.id)

    async def find(self, scope_id: str) -> Scope | None:
        return await first_row(self.conn, scopes, _scope,
                               scopes.c.organization_id == ORG_ID, scopes.c.id == scope_id)

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
