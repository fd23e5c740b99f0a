"""Bulk token operations used by client management (same transaction as the change)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.store.tables import clients, grant_families, tokens


class SqlTokenRevoker:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> None:
        # One row, not one per token: validation compares each token's issue time with it.
        await self.conn.execute(update(clients).where(clients.c.id == client_id).values(
            tokens_valid_after=now))
        # Users' grants to the client too: their refresh tokens and unused codes die with it.
        await self.conn.execute(update(grant_families).where(
            grant_families.c.client_id == client_id, grant_families.c.revoked_at.is_(None),
        ).values(revoked_at=now))

    async def purge_expired(self, *, now: datetime) -> int:
        result = await self.conn.execute(delete(tokens).where(tokens.c.expires_at < now))
        return result.rowcount
