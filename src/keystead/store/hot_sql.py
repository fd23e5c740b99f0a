"""The token hot path over SQLAlchemy (PostgreSQL): one short transaction per call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.domain.audit import AuditEvent
from keystead.domain.errors import StoreUnavailableError
from keystead.domain.tokens import ClientRecord, SecretRecord, TokenRecord
from keystead.store.audit import SqlAuditLog
from keystead.store.tables import client_role_divisions, client_secrets, clients, tokens

LAST_USED_GRANULARITY = timedelta(seconds=60)
UNREACHABLE = (OperationalError, InterfaceError, OSError, asyncio.TimeoutError)


@asynccontextmanager
async def reachable(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction; connection failures become StoreUnavailableError."""
    try:
        async with engine.begin() as conn:
            yield conn
    except UNREACHABLE as exc:
        raise StoreUnavailableError(type(exc).__name__) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError(type(exc).__name__) from exc
        raise


class SqlHotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def client(self, client_id: str) -> ClientRecord | None:
        async with reachable(self.engine) as conn:
            row = (await conn.execute(select(
                clients.c.id, clients.c.name, clients.c.state, clients.c.grant_types,
                clients.c.scopes, clients.c.token_ttl_seconds, clients.c.token_format,
                clients.c.date_last_used).where(clients.c.id == client_id))).first()
            if row is None:
                return None
            roles = await conn.execute(select(
                client_role_divisions.c.role_id, client_role_divisions.c.division_id).where(
                client_role_divisions.c.client_id == client_id))
            secrets = await conn.execute(select(
                client_secrets.c.id, client_secrets.c.digest, client_secrets.c.date_expires,
                client_secrets.c.date_last_used).where(client_secrets.c.client_id == client_id))
            return ClientRecord(
                id=row.id, name=row.name, state=row.state, grant_types=tuple(row.grant_types),
                scopes=tuple(row.scopes), token_ttl_seconds=row.token_ttl_seconds,
                token_format=row.token_format, roles=tuple((r, d) for r, d in roles),
                secrets=tuple(SecretRecord(*s) for s in secrets),
                date_last_used=row.date_last_used)

    async def mark_used(self, client_id: str, secret_id: str, *, now: datetime) -> None:
        cutoff = now - LAST_USED_GRANULARITY
        async with reachable(self.engine) as conn:
            await conn.execute(update(client_secrets).where(
                client_secrets.c.id == secret_id,
                or_(client_secrets.c.date_last_used.is_(None),
                    client_secrets.c.date_last_used < cutoff)).values(date_last_used=now))
            await conn.execute(update(clients).where(
                clients.c.id == client_id,
                or_(clients.c.date_last_used.is_(None), clients.c.date_last_used < cutoff),
            ).values(date_last_used=now))

    async def add_token(self, token: TokenRecord) -> None:
        async with reachable(self.engine) as conn:
            await conn.execute(tokens.insert().values(
                digest=token.digest, client_id=token.client_id, subject_id=token.subject_id,
                scope=token.scope, roles=[list(pair) for pair in token.roles],
                issued_at=token.issued_at, expires_at=token.expires_at))

    async def token(self, digest: str) -> TokenRecord | None:
        async with reachable(self.engine) as conn:
            row = (await conn.execute(select(tokens, clients.c.state, clients.c.scopes).outerjoin(
                clients, clients.c.id == tokens.c.client_id).where(
                tokens.c.digest == digest))).first()
        if row is None:
            return None
        return TokenRecord(
            digest=digest, client_id=row.client_id, subject_id=row.subject_id, scope=row.scope,
            roles=tuple((r, d) for r, d in row.roles), issued_at=row.issued_at,
            expires_at=row.expires_at, revoked_at=row.revoked_at,
            client_state=row.state or "deleted", client_scopes=tuple(row.scopes or ()))

    async def revoke(self, digest: str, *, client_id: str | None, now: datetime) -> bool:
        query = update(tokens).where(tokens.c.digest == digest, tokens.c.revoked_at.is_(None))
        if client_id is not None:
            query = query.where(tokens.c.client_id == client_id)
        async with reachable(self.engine) as conn:
            result = await conn.execute(query.values(revoked_at=now))
        return result.rowcount > 0

    async def record(self, event: AuditEvent) -> None:
        async with reachable(self.engine) as conn:
            await SqlAuditLog(conn).append(event)
