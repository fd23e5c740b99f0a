"""Bulk token operations: client management (same transaction as the change), housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update

from keystead.store.sql_store import SqlStore
from keystead.store.tables import client_usage, clients, grant_families, revoked_tokens


class SqlTokenRevoker(SqlStore):
    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> None:
        # One row, not one per token: validation compares each token's issue time with it.
        await self.conn.execute(update(clients).where(clients.c.id == client_id).values(
            tokens_valid_after=now))
        # Users' grants to the client too: their refresh tokens and unused codes die with it.
        await self.conn.execute(update(grant_families).where(
            grant_families.c.client_id == client_id, grant_families.c.revoked_at.is_(None),
        ).values(revoked_at=now))

    async def purge_expired(self, *, now: datetime, usage_retention_days: int) -> int:
        """Forget revocations of tokens that have expired anyway, and usage counts older than
        ``usage_retention_days`` (whole UTC days before today)."""
        result = await self.conn.execute(delete(revoked_tokens).where(
            revoked_tokens.c.expires_at < now))
        await self.conn.execute(delete(client_usage).where(
            client_usage.c.day < (now - timedelta(days=usage_retention_days)).date()))
        return result.rowcount
