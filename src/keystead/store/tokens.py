"""Bulk token operations used by client management (same transaction as the change)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.store.tables import tokens


class SqlTokenRevoker:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> int:
        result = await self.conn.execute(update(tokens).where(
            tokens.c.client_id == client_id, tokens.c.revoked_at.is_(None),
        ).values(revoked_at=now))
        return result.rowcount

    async def purge_expired(self, *, now: datetime) -> int:
        result = await self.conn.execute(delete(tokens).where(tokens.c.expires_at < now))
        return result.rowcount
