"""What the server key ring made that is stored: values encrypted at rest and client-secret key
ids, for ``keystead secret-keys status`` and ``reseal`` (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from keystead.store.sql_store import SqlStore
from keystead.store.tables import client_secrets, signing_keys, users


@dataclass(frozen=True, slots=True)
class Resealed:
    signing_keys: int
    totp_secrets: int
    unreadable: int  # sealed under no key of the ring: left as they are


class SqlKeyRingStore(SqlStore):
    async def secret_key_ids(self) -> dict[str | None, int]:
        """How many client secrets each ring key id digests (None: the former single key)."""
        rows = await self.conn.execute(select(client_secrets.c.key_id, func.count()).group_by(
            client_secrets.c.key_id))
        return {kid: int(n) for kid, n in rows}

    async def sealed(self) -> tuple[list[str], list[str]]:
        """The encrypted signing keys and TOTP secrets."""
        keys = await self.conn.execute(select(signing_keys.c.private_jwk_encrypted))
        totp = await self.conn.execute(select(users.c.mfa_secret).where(
            users.c.mfa_secret.is_not(None)))
        return [str(k) for (k,) in keys], [str(t) for (t,) in totp]

    async def reseal(self, *, signing_key: Callable[[str], str | None],
                     totp_secret: Callable[[str], str | None]) -> Resealed:
        """Encrypt every signing key and TOTP secret again with what the callables return
        (the value under the current ring key; None when no ring key opens it)."""
        done_keys = done_totp = unreadable = 0
        for kid, sealed in await self.conn.execute(select(
                signing_keys.c.kid, signing_keys.c.private_jwk_encrypted)):
            fresh = signing_key(sealed)
            if fresh is None:
                unreadable += 1
                continue
            await self.conn.execute(update(signing_keys).where(
                signing_keys.c.kid == kid, signing_keys.c.private_jwk_encrypted == sealed
            ).values(private_jwk_encrypted=fresh))
            done_keys += 1
        for user_id, sealed in await self.conn.execute(select(users.c.id, users.c.mfa_secret).where(
                users.c.mfa_secret.is_not(None))):
            fresh = totp_secret(sealed)
            if fresh is None:
                unreadable += 1
                continue
            # Only if unchanged: a reset or re-enrolment in between wins.
            await self.conn.execute(update(users).where(
                users.c.id == user_id, users.c.mfa_secret == sealed).values(mfa_secret=fresh))
            done_totp += 1
        return Resealed(done_keys, done_totp, unreadable)
