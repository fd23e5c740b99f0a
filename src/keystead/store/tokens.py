"""Bulk token operations used by client management (same transaction as the change)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.store.tables import clients, tokens


class SqlTokenRevoker:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> None:
        # One row, not one per token: validation compares each token's issue time with it.
        await self.conn.execute(update(clients).where(clients.c.id == client_id).values(
            tokens_valid_after=now))

    async def purge_expired(self, *, now: datetime) -> int:
        result = await self.conn.execute(delete(tokens).where(tokens.c.expires_at < now))
        return result.rowcount
