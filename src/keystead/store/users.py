"""Users and their role grants (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.users import User
from keystead.store.tables import ORG_ID, user_grants, users


class SqlUserStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, user: User) -> None:
        await self.conn.execute(insert(users).values(
            id=user.id, organization_id=ORG_ID, name=user.name, email=user.email,
            state=user.state, date_created=user.date_created, date_modified=user.date_created))

    async def by_email(self, email: str) -> User | None:
        row = (await self.conn.execute(select(users).where(
            users.c.organization_id == ORG_ID, users.c.email == email))).first()
        return User(row.id, row.name, row.email, row.state, row.date_created) if row else None

    async def grant(self, user_id: str, *, role_id: str, division_id: str) -> None:
        await self.conn.execute(insert(user_grants).values(
            user_id=user_id, role_id=role_id, division_id=division_id))

    async def grants(self, user_id: str) -> list[tuple[str, str]]:
        rows = await self.conn.execute(select(user_grants).where(user_grants.c.user_id == user_id))
        return [(r.role_id, r.division_id) for r in rows]
