"""Users' notices and who can receive them (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from keystead.domain.governance.notices import Notice, NoticeKind, Recipient
from keystead.domain.paging import Page
from keystead.domain.permissions import grants
from keystead.store.governance_tables import notices
from keystead.store.rows import page_of
from keystead.store.sql_store import SqlStore
from keystead.store.tables import roles, user_grants, users


def _notice(r: Any) -> Notice:
    return Notice(id=r["id"], recipient_id=r["recipient_id"], kind=NoticeKind(r["kind"]),
                  subject=r["subject"], body=r["body"], client_id=r["client_id"],
                  created_at=r["created_at"], read_at=r["read_at"])


class SqlNoticeStore(SqlStore):
    """The NoticeStore port."""

    async def add(self, notice: Notice) -> None:
        await self.conn.execute(insert(notices).values(
            id=notice.id, recipient_id=notice.recipient_id, kind=str(notice.kind),
            subject=notice.subject[:320], body=notice.body, client_id=notice.client_id,
            created_at=notice.created_at, read_at=notice.read_at))

    async def for_recipient(self, user_id: str, page: Page, *, unread_only: bool = False
                            ) -> tuple[Sequence[Notice], int]:
        conditions = [notices.c.recipient_id == user_id]
        if unread_only:
            conditions.append(notices.c.read_at.is_(None))
        rows, total = await page_of(
            self.conn, notices, select(notices).order_by(notices.c.created_at.desc(), notices.c.id),
            conditions, page)
        return [_notice(r._mapping) for r in rows], total

    async def unread_count(self, user_id: str) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(notices).where(
            notices.c.recipient_id == user_id, notices.c.read_at.is_(None)))).scalar_one())

    async def mark_read(self, notice_id: str, *, user_id: str, now: datetime) -> Notice | None:
        mine = (notices.c.id == notice_id, notices.c.recipient_id == user_id)
        await self.conn.execute(update(notices).where(*mine, notices.c.read_at.is_(None))
                                .values(read_at=now))
        row = (await self.conn.execute(select(notices).where(*mine))).mappings().one_or_none()
        return _notice(row) if row else None

    async def purge_read(self, *, before: datetime) -> int:
        """Delete notices read before ``before``, and every notice of a user who is gone."""
        done = await self.conn.execute(delete(notices).where(
            notices.c.read_at.is_not(None), notices.c.read_at < before))
        gone = await self.conn.execute(delete(notices).where(
            notices.c.recipient_id.not_in(select(users.c.id))))
        return int(done.rowcount or 0) + int(gone.rowcount or 0)


class SqlRecipientDirectory(SqlStore):
    """The RecipientDirectory port: active users, read from users and their role grants."""

    async def user(self, user_id: str) -> Recipient | None:
        row = (await self.conn.execute(select(users.c.id, users.c.email, users.c.name).where(
            users.c.id == user_id, users.c.state == "active"))).one_or_none()
        return Recipient(row.id, row.email, row.name) if row else None

    async def holders_of(self, permission: str) -> list[Recipient]:
        # Role permissions are patterns (``oauth:client:*``): matched here, not in SQL.
        rows = await self.conn.execute(
            select(users.c.id, users.c.email, users.c.name, roles.c.permissions)
            .join(user_grants, user_grants.c.user_id == users.c.id)
            .join(roles, roles.c.id == user_grants.c.role_id)
            .where(users.c.state == "active").order_by(users.c.email))
        found: dict[str, Recipient] = {}
        for row in rows:
            if row.id not in found and grants(row.permissions, permission):
                found[row.id] = Recipient(row.id, row.email, row.name)
        return list(found.values())
