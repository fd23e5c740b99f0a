"""Divisions (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update

from keystead.domain.organization import Division
from keystead.store.rows import first_row, organisation_rows, referred_to
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, client_role_divisions, divisions, user_grants


def _division(r: Any) -> Division:
    return Division(r.id, r.name, r.description, r.home, r.date_created)


class SqlDivisionStore(SqlStore):
    """The DivisionStore port."""

    async def list(self) -> list[Division]:
        return await organisation_rows(self.conn, divisions, _division, divisions.c.name)

    async def find(self, division_id: str) -> Division | None:
        return await first_row(self.conn, divisions, _division, divisions.c.id == division_id)

    async def by_name(self, name: str) -> Division | None:
        return await first_row(self.conn, divisions, _division,
                               divisions.c.organization_id == ORG_ID, divisions.c.name == name)

    async def add(self, division: Division) -> None:
        await self.conn.execute(insert(divisions).values(
            id=division.id, organization_id=ORG_ID, name=division.name,
            description=division.description, home=division.home,
            date_created=division.date_created))

    async def update(self, division_id: str, *, name: str, description: str) -> None:
        await self.conn.execute(update(divisions).where(divisions.c.id == division_id).values(
            name=name, description=description))

    async def in_use(self, division_id: str) -> bool:
        return await referred_to(self.conn, client_role_divisions.c.division_id == division_id,
                                 user_grants.c.division_id == division_id)

    async def delete(self, division_id: str) -> None:
        await self.conn.execute(delete(divisions).where(divisions.c.id == division_id))
