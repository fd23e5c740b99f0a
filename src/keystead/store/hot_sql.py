"""The token hot path on PostgreSQL: kept reads, proven current by the change feed.

What the token path reads (client records with their secrets and roles, token revocations,
grant-family states) is kept in this worker's memory and dropped when a change notification
names it (store/change_feed.py, migration 0011). A kept read is served only while the feed is
``current``; otherwise, and before the feed has started (the CLI never starts it), every read
goes to the database. The worker's own changes drop what they touch at once: the hot store's
writes here, everything else made through the same engine by ``database.on_write_done``.

A read that misses is one statement. Writes (revocations, last-used times, audit appends, the
usage flush) are short transactions of their own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.domain.audit import AuditEvent
from keystead.domain.tokens import (
    LAST_USED_GRANULARITY,
    ClientRecord,
    FamilyState,
    LiveState,
    SecretRecord,
    TokenClaims,
)
from keystead.store.audit import SqlAuditLog
from keystead.store.availability import reachable
from keystead.store.change_feed import ChangeFeed, listen_dsn
from keystead.store.database import HOT_PATH_OPTION, on_write_done
from keystead.store.governance_tables import deactivation_plans
from keystead.store.kept_reads import KeptReads, keep
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

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _json_rows(*columns: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.json_agg(func.json_build_array(*columns)), text("'[]'::json"))


def _aware(value: str | datetime | None) -> datetime | None:
    # JSON carries timestamps as text, and a subquery's column loses the UTC type decorator.
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _client_statement() -> Any:
    """The client, its roles, its secrets and its scopes' resource servers: one round trip."""
    roles = select(_json_rows(client_role_divisions.c.role_id,
                              client_role_divisions.c.division_id)).where(
        client_role_divisions.c.client_id == clients.c.id).scalar_subquery()
    secrets = select(_json_rows(
        client_secrets.c.id, client_secrets.c.digest, client_secrets.c.date_expires,
        client_secrets.c.date_last_used, client_secrets.c.key_id)).where(
        client_secrets.c.client_id == clients.c.id).scalar_subquery()
    held = select(func.json_array_elements_text(clients.c.scopes)).correlate(clients)
    servers = select(_json_rows(scopes.c.id, scopes.c.resource_server)).where(
        scopes.c.organization_id == clients.c.organization_id,
        scopes.c.resource_server.is_not(None), scopes.c.id.in_(held)).scalar_subquery()
    plan = select(func.json_build_array(deactivation_plans.c.planned_at,
                                        deactivation_plans.c.date)).where(
        deactivation_plans.c.client_id == clients.c.id,
        deactivation_plans.c.disabled_at.is_(None)).scalar_subquery()
    return select(
        clients.c.id, clients.c.name, clients.c.state, clients.c.grant_types, clients.c.scopes,
        clients.c.token_ttl_seconds, clients.c.token_format, clients.c.date_last_used,
        clients.c.tokens_valid_after, clients.c.client_type,
        clients.c.token_endpoint_auth_method, roles.label("roles"), secrets.label("secrets"),
        servers.label("resource_servers"), plan.label("plan"))


CLIENT_STATEMENT = _client_statement()


def following(listen_url: str, *, heartbeat: float, max_lag: float
              ) -> Callable[[KeptReads], ChangeFeed]:
    """The change feed a server worker keeps its reads current with (``SqlHotStore(feed=…)``)."""
    return lambda kept: ChangeFeed(listen_dsn(listen_url), on_change=kept.forget,
                                   on_reset=kept.forget_all, heartbeat=heartbeat,
                                   max_lag=max_lag)


class SqlHotStore:
    def __init__(self, engine: AsyncEngine, *, feed: Callable[[KeptReads], ChangeFeed] | None
                 ) -> None:
        """``feed`` builds the change feed over the kept reads; without one (a transaction
        pooler, where LISTEN cannot work) nothing is kept and every read is a query."""
        self.engine = engine.execution_options(**{HOT_PATH_OPTION: True})
        # This worker's own changes (made through ``engine``) drop its kept reads the moment
        # they commit, before the response leaves; other workers learn of them from the feed.
        on_write_done(engine, self.forget)
        self.kept = KeptReads()
        self.feed = feed(self.kept) if feed is not None else None
        self._issued: Counter[tuple[str, date]] = Counter()  # (client id, UTC day) -> tokens
        self._flush_lock = asyncio.Lock()

    def start(self) -> None:
        if self.feed is not None:
            self.feed.start()

    async def close(self) -> None:
        if self.feed is not None:
            await self.feed.close()

    def forget(self) -> None:
        self.kept.forget_all()

    @property
    def _current(self) -> bool:
        return self.feed is not None and self.feed.current

    async def _kept(self, kept: dict[K, V], key: K, read: Callable[[], Awaitable[V]]) -> V:
        """``kept[key]`` while the feed proves it current; else read, and keep the result if
        nothing was dropped meanwhile (the read may predate the change that dropped it)."""
        if not self._current:
            return await read()
        if key in kept:
            return kept[key]
        epoch = self.kept.epoch
        value = await read()
        if epoch == self.kept.epoch and self._current:
            keep(kept, key, value)
        return value

    async def client(self, client_id: str) -> ClientRecord | None:
        return await self._kept(self.kept.clients, client_id, lambda: self._read_client(client_id))

    async def _read_client(self, client_id: str) -> ClientRecord | None:
        async with reachable(self.engine) as conn:
            row = (await conn.execute(CLIENT_STATEMENT.where(clients.c.id == client_id))).first()
        if row is None:
            return None
        return ClientRecord(
            id=row.id, name=row.name, state=row.state, grant_types=tuple(row.grant_types),
            scopes=tuple(row.scopes), token_ttl_seconds=row.token_ttl_seconds,
            token_format=row.token_format, roles=tuple((r, d) for r, d in row.roles),
            secrets=tuple(SecretRecord(i, digest, _aware(expires), _aware(used), key_id)
                          for i, digest, expires, used, key_id in row.secrets),
            date_last_used=row.date_last_used, tokens_valid_after=row.tokens_valid_after,
            client_type=row.client_type,
            resource_servers=tuple((s, r) for s, r in row.resource_servers),
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            deprecated_at=_aware(row.plan[0]) if row.plan else None,
            sunset_at=_aware(row.plan[1]) if row.plan else None)

    async def rekey_secret(self, client_id: str, secret_id: str, *, old_digest: str,
                           digest: str, key_id: str) -> None:
        async with reachable(self.engine) as conn:
            # Only while the digest is still the one checked: a rotation in between wins.
            await conn.execute(update(client_secrets).where(
                client_secrets.c.id == secret_id, client_secrets.c.client_id == client_id,
                client_secrets.c.digest == old_digest).values(digest=digest, key_id=key_id))
        self.kept.forget_client(client_id)

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
        self.kept.forget_client(client_id)  # else the kept record would ask for this again

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
        client = await self.client(client_id)
        if client is None:
            return None
        revoked_at = await self._kept(self.kept.revocations_of(client_id), digest,
                                      lambda: self._read_revocation(digest))
        return LiveState(client_state=client.state, client_scopes=client.scopes,
                         roles=client.roles, tokens_valid_after=client.tokens_valid_after,
                         revoked_at=revoked_at)

    async def _read_revocation(self, digest: str) -> datetime | None:
        async with reachable(self.engine) as conn:
            found = await conn.scalar(select(revoked_tokens.c.revoked_at).where(
                revoked_tokens.c.digest == digest))
        return _aware(found)

    async def family_state(self, family_id: str) -> FamilyState | None:
        return await self._kept(self.kept.families, family_id,
                                lambda: self._read_family(family_id))

    async def _read_family(self, family_id: str) -> FamilyState | None:
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
        self.kept.forget_client(claims.client_id)

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
