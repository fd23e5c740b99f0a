"""User invitations (SQLAlchemy Core; never commits): the InvitationStore port."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from keystead.domain.invitations import Invitation
from keystead.store.sql_store import SqlStore
from keystead.store.tables import user_invitations as invitations


def _invitation(row: Any) -> Invitation:
    return Invitation(row.id, row.user_id, row.digest, row.invited_by, row.created_at,
                      row.expires_at, row.used_at, row.revoked_at)


class SqlInvitationStore(SqlStore):
    async def add(self, invitation: Invitation) -> None:
        await self.conn.execute(delete(invitations).where(
            invitations.c.user_id == invitation.user_id))
        await self.conn.execute(insert(invitations).values(
            id=invitation.id, user_id=invitation.user_id, digest=invitation.digest,
            invited_by=invitation.invited_by, created_at=invitation.created_at,
            expires_at=invitation.expires_at, used_at=None, revoked_at=None))

    async def by_digest(self, digest: str) -> Invitation | None:
        row = (await self.conn.execute(select(invitations).where(
            invitations.c.digest == digest).with_for_update())).first()
        return _invitation(row) if row else None

    async def latest_for(self, user_id: str) -> Invitation | None:
        row = (await self.conn.execute(select(invitations).where(
            invitations.c.user_id == user_id).order_by(
            invitations.c.created_at.desc(), invitations.c.id).limit(1))).first()
        return _invitation(row) if row else None

    async def use(self, invitation_id: str, *, now: datetime) -> bool:
        # The database decides a race between two submissions of one link.
        done = await self.conn.execute(update(invitations).where(
            invitations.c.id == invitation_id, invitations.c.used_at.is_(None),
            invitations.c.revoked_at.is_(None)).values(used_at=now))
        return bool(done.rowcount)

    async def revoke_open(self, user_id: str, *, now: datetime) -> int:
        done = await self.conn.execute(update(invitations).where(
            invitations.c.user_id == user_id, invitations.c.used_at.is_(None),
            invitations.c.revoked_at.is_(None)).values(revoked_at=now))
        return int(done.rowcount or 0)
