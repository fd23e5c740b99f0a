"""Console sessions (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from keystead.domain.console_sessions import SessionRow
from keystead.store.sql_store import SqlStore
from keystead.store.tables import sessions

__all__ = ["SessionRow", "SqlSessionStore"]


class SqlSessionStore(SqlStore):
    async def add(self, row: SessionRow) -> None:
        await self.conn.execute(insert(sessions).values(
            digest=row.digest, user_id=row.user_id, stage=row.stage, amr=row.amr,
            data=row.data, created_at=row.created_at, last_seen_at=row.last_seen_at,
            expires_at=row.expires_at))

    async def find(self, digest: str) -> SessionRow | None:
        row: Any = (await self.conn.execute(
            select(sessions).where(sessions.c.digest == digest))).first()
        if row is None:
            return None
        return SessionRow(row.digest, row.user_id, row.stage, list(row.amr), dict(row.data),
                          row.created_at, row.last_seen_at, row.expires_at)

    async def touch(self, digest: str, *, now: datetime,
                    data: dict[str, str] | None = None) -> None:
        values: dict[str, Any] = {"last_seen_at": now}
        if data is not None:
            values["data"] = data
        await self.conn.execute(update(sessions).where(sessions.c.digest == digest)
                                .values(**values))

    async def delete(self, digest: str) -> None:
        await self.conn.execute(delete(sessions).where(sessions.c.digest == digest))

    async def delete_of_user(self, user_id: str) -> None:
        await self.conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    async def purge_expired(self, *, now: datetime, idle_before: datetime) -> None:
        await self.conn.execute(delete(sessions).where(
            (sessions.c.expires_at <= now) | (sessions.c.last_seen_at <= idle_before)))
