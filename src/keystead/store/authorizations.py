"""Users' authorizations: consents, codes, grant families, refresh tokens (Core; never commits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, Select, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.domain.authorizations import (
    Authorization,
    AuthorizationCode,
    Consent,
    Person,
    RefreshGrant,
    RegisteredClient,
)
from keystead.store.availability import reachable
from keystead.store.sql_store import SqlStore
from keystead.store.tables import (
    authorization_codes,
    clients,
    consents,
    grant_families,
    refresh_tokens,
    sessions,
    users,
)


def _live_families(now: datetime) -> Select[tuple[str]]:
    return select(grant_families.c.id).where(grant_families.c.revoked_at.is_(None),
                                             grant_families.c.expires_at > now)


def _live_session(now: datetime, seen_after: datetime) -> Exists:
    """The code's console session still exists and has neither expired nor gone idle."""
    return exists().where(sessions.c.digest == authorization_codes.c.session_digest,
                          sessions.c.expires_at > now, sessions.c.last_seen_at > seen_after)


def _code(row: Any) -> AuthorizationCode:
    return AuthorizationCode(row.digest, row.family_id, row.client_id, row.user_id,
                             row.redirect_uri, row.scope, row.code_challenge, row.nonce,
                             row.auth_time, tuple(row.amr), row.expires_at, row.consumed_at,
                             row.session_digest)


def _refresh(row: Any) -> RefreshGrant:
    return RefreshGrant(row.digest, row.family_id, row.client_id, row.user_id, row.scope,
                        row.auth_time, tuple(row.amr), row.issued_at, row.expires_at,
                        row.used_at)


class SqlCodeStore(SqlStore):
    async def add(self, code: AuthorizationCode) -> None:
        await self.conn.execute(insert(authorization_codes).values(
            digest=code.digest, family_id=code.family_id, client_id=code.client_id,
            user_id=code.user_id, redirect_uri=code.redirect_uri, scope=code.scope,
            code_challenge=code.code_challenge, nonce=code.nonce, auth_time=code.auth_time,
            amr=list(code.amr), expires_at=code.expires_at, session_digest=code.session_digest))

    async def consume(self, digest: str, *, now: datetime,
                      sessions_seen_after: datetime) -> AuthorizationCode | None:
        # The database decides a race between two redemptions: one row is updated, once.
        row = (await self.conn.execute(update(authorization_codes).where(
            authorization_codes.c.digest == digest, authorization_codes.c.consumed_at.is_(None),
            authorization_codes.c.expires_at > now,
            # The user may have revoked the client between the code and its exchange.
            authorization_codes.c.family_id.in_(_live_families(now)),
            # Codes minted before sessions were recorded on them have none to check.
            authorization_codes.c.session_digest.is_(None)
            | _live_session(now, sessions_seen_after),
        ).values(consumed_at=now).returning(*authorization_codes.c))).first()
        return _code(row) if row else None

    async def find_consumed(self, digest: str) -> AuthorizationCode | None:
        row = (await self.conn.execute(select(authorization_codes).where(
            authorization_codes.c.digest == digest,
            authorization_codes.c.consumed_at.is_not(None)))).first()
        return _code(row) if row else None


class SqlRefreshTokenStore(SqlStore):
    async def add(self, grant: RefreshGrant) -> None:
        await self.conn.execute(insert(refresh_tokens).values(
            digest=grant.digest, family_id=grant.family_id, client_id=grant.client_id,
            user_id=grant.user_id, scope=grant.scope, auth_time=grant.auth_time,
            amr=list(grant.amr), issued_at=grant.issued_at, expires_at=grant.expires_at))

    async def use(self, digest: str, *, now: datetime, rotate: bool) -> RefreshGrant | None:
        live = (refresh_tokens.c.digest == digest, refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.expires_at > now,
                refresh_tokens.c.family_id.in_(_live_families(now)))
        if rotate:
            row = (await self.conn.execute(update(refresh_tokens).where(*live).values(
                used_at=now).returning(*refresh_tokens.c))).first()
        else:
            row = (await self.conn.execute(select(refresh_tokens).where(*live))).first()
        return _refresh(row) if row else None

    async def find(self, digest: str) -> RefreshGrant | None:
        row = (await self.conn.execute(select(refresh_tokens).where(
            refresh_tokens.c.digest == digest))).first()
        return _refresh(row) if row else None


class SqlGrantFamilyStore(SqlStore):
    async def start(self, family_id: str, *, client_id: str, user_id: str,
                    now: datetime, expires_at: datetime) -> None:
        await self.conn.execute(insert(grant_families).values(
            id=family_id, client_id=client_id, user_id=user_id, created_at=now,
            expires_at=expires_at))

    async def expires_at(self, family_id: str) -> datetime | None:
        found: datetime | None = (await self.conn.execute(select(grant_families.c.expires_at)
                                  .where(grant_families.c.id == family_id))).scalar()
        return found

    async def revoke(self, family_id: str, *, now: datetime) -> None:
        await self.conn.execute(update(grant_families).where(
            grant_families.c.id == family_id, grant_families.c.revoked_at.is_(None),
        ).values(revoked_at=now))


class SqlPersonDirectory(SqlStore):
    async def find(self, user_id: str) -> Person | None:
        row = (await self.conn.execute(select(users.c.id, users.c.email, users.c.name,
                                              users.c.state).where(users.c.id == user_id))).first()
        return Person(row.id, row.email, row.name, row.state) if row else None


class SqlAuthorizationStore(SqlStore):
    """The AuthorizationStore (one store per artifact) and the ConsentStore, over one
    connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self.codes = SqlCodeStore(conn)
        self.refresh_tokens = SqlRefreshTokenStore(conn)
        self.families = SqlGrantFamilyStore(conn)
        self.people = SqlPersonDirectory(conn)

    async def consent(self, user_id: str, client_id: str) -> Consent | None:
        row = (await self.conn.execute(select(consents).where(
            consents.c.user_id == user_id, consents.c.client_id == client_id))).first()
        if row is None:
            return None
        return Consent(tuple(row.scopes["granted"]), tuple(row.scopes["clientScopes"]),
                       row.granted_at)

    async def save_consent(self, user_id: str, client_id: str, consent: Consent) -> None:
        await self.conn.execute(delete(consents).where(
            consents.c.user_id == user_id, consents.c.client_id == client_id))
        await self.conn.execute(insert(consents).values(
            user_id=user_id, client_id=client_id, granted_at=consent.granted_at,
            scopes={"granted": list(consent.scopes), "clientScopes": list(consent.client_scopes)}))

    async def authorizations(self, user_id: str) -> list[Authorization]:
        rows = await self.conn.execute(
            select(consents.c.client_id, clients.c.name, consents.c.scopes,
                   consents.c.granted_at).join(clients, clients.c.id == consents.c.client_id)
            .where(consents.c.user_id == user_id).order_by(clients.c.name))
        return [Authorization(r.client_id, r.name, tuple(r.scopes["granted"]), r.granted_at)
                for r in rows]

    async def authorization(self, user_id: str, client_id: str) -> Authorization | None:
        """The client as ``user_id`` authorized it; None if they did not (whoever else did)."""
        row = (await self.conn.execute(
            select(consents.c.client_id, clients.c.name, consents.c.scopes,
                   consents.c.granted_at).join(clients, clients.c.id == consents.c.client_id)
            .where(consents.c.user_id == user_id, consents.c.client_id == client_id))).first()
        if row is None:
            return None
        return Authorization(row.client_id, row.name, tuple(row.scopes["granted"]),
                             row.granted_at)

    async def revoke_client(self, user_id: str, client_id: str, *, now: datetime) -> bool:
        forgotten = await self.conn.execute(delete(consents).where(
            consents.c.user_id == user_id, consents.c.client_id == client_id))
        revoked = await self.conn.execute(update(grant_families).where(
            grant_families.c.user_id == user_id, grant_families.c.client_id == client_id,
            grant_families.c.revoked_at.is_(None)).values(revoked_at=now))
        return bool(forgotten.rowcount or revoked.rowcount)

    async def registered_client(self, client_id: str) -> RegisteredClient | None:
        row = (await self.conn.execute(select(clients).where(clients.c.id == client_id))).first()
        if row is None:
            return None
        return RegisteredClient(
            row.id, row.name, row.description, row.state == "active",
            frozenset(row.grant_types), tuple(row.scopes), tuple(row.redirect_uris),
            row.client_type == "public", row.require_pkce)

    async def purge_expired(self, *, now: datetime) -> None:
        """Delete expired codes and refresh tokens (used ones are kept until then, to recognise
        a replay), then the grant families nothing can use any more: past their absolute
        deadline (no token they issued outlives it), or revoked with no code or refresh token
        of theirs left. A token whose family is gone is refused, as a revoked one is."""
        await self.conn.execute(delete(authorization_codes).where(
            authorization_codes.c.expires_at <= now))
        await self.conn.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at <= now))
        family = grant_families.c.id
        await self.conn.execute(delete(grant_families).where(
            (grant_families.c.expires_at <= now)
            | (grant_families.c.revoked_at.is_not(None)
               & ~exists().where(refresh_tokens.c.family_id == family)
               & ~exists().where(authorization_codes.c.family_id == family))))


def authorization_transactions(
        engine: AsyncEngine) -> Callable[[], AbstractAsyncContextManager[SqlAuthorizationStore]]:
    """What the grants open per token request: the store over one transaction."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlAuthorizationStore]:
        async with reachable(engine) as conn:
            yield SqlAuthorizationStore(conn)

    return transaction
