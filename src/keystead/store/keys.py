"""Signing keys: read, rotate, purge (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from keystead.domain.tokens import SigningKeyMaterial
from keystead.protocol.keys import PUBLISH_DELAY, StoredKey
from keystead.protocol.oidc import ID_TOKEN_TTL_SECONDS
from keystead.store.sql_store import SqlStore
from keystead.store.tables import clients, signing_keys


class SqlSigningKeys(SqlStore):
    async def all(self) -> list[StoredKey]:
        rows = await self.conn.execute(select(signing_keys).order_by(signing_keys.c.date_created))
        return [StoredKey(r.kid, dict(r.public_jwk), r.private_jwk_encrypted, r.date_created,
                          r.retire_after) for r in rows]

    async def rotate(self, key: SigningKeyMaterial, *, now: datetime) -> datetime:
        """Add ``key``; every key without one gets a retirement date after its last token.

        Returns the retirement date given to the previous keys.
        """
        longest = (await self.conn.execute(select(func.max(clients.c.token_ttl_seconds)))
                   ).scalar_one_or_none() or 0
        retire = now + PUBLISH_DELAY + timedelta(seconds=max(longest, ID_TOKEN_TTL_SECONDS))
        await self.conn.execute(update(signing_keys).where(
            signing_keys.c.retire_after.is_(None)).values(retire_after=retire, active=False))
        await self.conn.execute(insert(signing_keys).values(
            kid=key.kid, alg=key.alg, private_jwk_encrypted=key.private_jwk_encrypted,
            public_jwk=dict(key.public_jwk), date_created=now, active=True))
        return retire

    async def purge_retired(self, *, now: datetime) -> None:
        await self.conn.execute(delete(signing_keys).where(signing_keys.c.retire_after <= now))
