"""The token hot path over SQLAlchemy (PostgreSQL): one short transaction per call."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.domain.audit import AuditEvent
from keystead.domain.tokens import (
    ClientRecord,
    FamilyState,
    LiveState,
    SecretRecord,
    TokenClaims,
)
from keystead.store.audit import SqlAuditLog
from keystead.store.availability import reachable
from keystead.store.tables import (
    client_role_divisions,
    client_secrets,
    client_usage,
    clients,
    grant_families,
    revoked_tokens,
    scopes,
    users,
)

LAST_USED_GRANULARITY = timedelta(seconds=60)


def _utc(value: datetime | None) -> datetime | None:
    # A scalar subquery's column loses the UTC type decorator: restore the zone here.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class SqlHotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._issued: Counter[tuple[str, date]] = Counter()  # (client id, UTC day) -> tokens
        self._flush_lock = asyncio.Lock()

    async def client(self, client_id: str) -> ClientRecord | None:
        # The resource servers of the client's custom scopes, in the same statement.
        held = select(func.json_array_elements_text(clients.c.scopes)).correlate(clients)
        servers = select(func.coalesce(func.json_agg(func.json_build_array(
            scopes.c.id, scopes.c.resource_server)), text("'[]'::json"))).where(
            scopes.c.organization_id == clients.c.organization_id,
            scopes.c.resource_server.is_not(None), scopes.c.id.in_(held)).scalar_subquery()
        async with reachable(self.engine) as conn:
            row = (await conn.execute(select(
                clients.c.id, clients.c.name, clients.c.state, clients.c.grant_types,
                clients.c.scopes, clients.c.token_ttl_seconds, clients.c.token_format,
                clients.c.date_last_used, clients.c.tokens_valid_after, clients.c.client_type,
                servers.label("resource_servers"), clients.c.token_endpoint_auth_method,
            ).where(clients.c.id == client_id))).first()
            if row is None:
                return None
            roles = await conn.execute(select(
                client_role_divisions.c.role_id, client_role_divisions.c.division_id).where(
                client_role_divisions.c.client_id == client_id))
            secrets = await conn.execute(select(
                client_secrets.c.id, client_secrets.c.digest, client_secrets.c.date_expires,
                client_secrets.c.date_last_used, client_secrets.c.key_id).where(
                client_secrets.c.client_id == client_id))
            return ClientRecord(
                id=row.id, name=row.name, state=row.state, grant_types=tuple(row.grant_types),
                scopes=tuple(row.scopes), token_ttl_seconds=row.token_ttl_seconds,
                token_format=row.token_format, roles=tuple((r, d) for r, d in roles),
                secrets=tuple(SecretRecord(*s) for s in secrets),
                date_last_used=row.date_last_used, tokens_valid_after=row.tokens_valid_after,
                client_type=row.client_type,
                resource_servers=tuple((s, r) for s, r in row.resource_servers),
                token_endpoint_auth_method=row.token_endpoint_auth_method)

    async def rekey_secret(self, client_id: str, secret_id: str, *, old_digest: str,
                           digest: str, key_id: str) -> None:
        async with reachable(self.engine) as conn:
            # Only while the digest is still the one checked: a rotation in between wins.
            await conn.execute(update(client_secrets).where(
                client_secrets.c.id == secret_id, client_secrets.c.client_id == client_id,
                client_secrets.c.digest == old_digest).values(digest=digest, key_id=key_id))

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

    def count_issued(self, client_id: str, day: date) -> None:
        self._issued[client_id, day] += 1

    async def flush(self) -> None:
        async with self._flush_lock:
            counts, self._issued = self._issued, Counter()
            if not counts:
                return
            add = pg_insert(client_usage)
            add = add.on_conflict_do_update(
                index_elements=[client_usage.c.client_id, client_usage.c.day],
                set_={"tokens_issued": client_usage.c.tokens_issued + add.excluded.tokens_issued})
            try:
                async with reachable(self.engine) as conn:
                    await conn.execute(add, [
                        {"client_id": client_id, "day": day, "tokens_issued": n}
                        for (client_id, day), n in counts.items()])
            except BaseException:
                # Whatever stopped the write (unreachable, refused, cancelled), the counts are
                # kept for the next attempt: they exist nowhere else.
                self._issued.update(counts)
                raise

    def held(self) -> int:
        return sum(self._issued.values())

    async def live_state(self, client_id: str, digest: str) -> LiveState | None:
        roles = select(func.coalesce(func.json_agg(func.json_build_array(
            client_role_divisions.c.role_id, client_role_divisions.c.division_id)),
            text("'[]'::json"))).where(
            client_role_divisions.c.client_id == clients.c.id).scalar_subquery()
        revoked = select(revoked_tokens.c.revoked_at).where(
            revoked_tokens.c.digest == digest).scalar_subquery()
        async with reachable(self.engine) as conn:
            row = (await conn.execute(select(
                clients.c.state, clients.c.scopes, roles.label("roles"),
                clients.c.tokens_valid_after, revoked.label("revoked_at"),
            ).where(clients.c.id == client_id))).first()
        if row is None:
            return None
        return LiveState(
            client_state=row.state, client_scopes=tuple(row.scopes),
            roles=tuple((r, d) for r, d in row.roles),
            tokens_valid_after=row.tokens_valid_after,
            revoked_at=_utc(row.revoked_at))

    async def family_state(self, family_id: str) -> FamilyState | None:
        async with reachable(self.engine) as conn:
            row = (await conn.execute(select(grant_families.c.revoked_at, users.c.state).join(
                users, users.c.id == grant_families.c.user_id).where(
                grant_families.c.id == family_id))).first()
        return FamilyState(row.revoked_at, row.state) if row else None

    async def revoke(self, claims: TokenClaims, *, now: datetime) -> None:
        # Revoking twice keeps the first time.
        statement = pg_insert(revoked_tokens).values(
            digest=claims.digest, client_id=claims.client_id, subject_id=claims.subject_id,
            scope=claims.scope, issued_at=claims.issued_at, expires_at=claims.expires_at,
            revoked_at=now).on_conflict_do_nothing()
        async with reachable(self.engine) as conn:
            await conn.execute(statement)

    async def record(self, event: AuditEvent) -> None:
        async with reachable(self.engine) as conn:
            await SqlAuditLog(conn).append(event)

    async def record_all(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        async with reachable(self.engine) as conn:
            log = SqlAuditLog(conn)
            for event in events:
                await log.append(event)
