"""One contract for both hot stores (SQLite, PostgreSQL), checked against the plain store.

The plain store (SQLAlchemy over the tables, as the management API, the CLI or another worker
write) makes a change; the hot store, which keeps what it read, must see it: at once when the
change is this worker's own, and on PostgreSQL as soon as the change feed hands it over (these
tests wait for that with a deadline; bench/propagation.py measures how soon).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.config import Settings
from keystead.domain.audit import AuditEvent
from keystead.domain.tokens import HotStore, TokenClaims
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_verify import verify_chain
from keystead.store.database import create_engine, on_write_done, sqlite_path
from keystead.store.governance_tables import deactivation_plans
from keystead.store.hot_sql import SqlHotStore, following
from keystead.store.hot_sqlite import SqliteHotStore
from keystead.store.tables import (
    ORG_ID,
    client_role_divisions,
    client_secrets,
    client_usage,
    clients,
    grant_families,
    revoked_tokens,
    scopes,
    users,
)
from tests.support.clients import Registered
from tests.support.waiting import SEEN_WITHIN_SECONDS

T = TypeVar("T")


@dataclass
class World:
    url: str
    client_id: str
    user_id: str
    family_id: str
    scope_id: str


@pytest.fixture
def world(settings: Settings, admin: Registered) -> World:
    """The admin client (with its role and secret), holding a custom scope, and a user with
    one grant family of that client."""
    url = settings.resolved_database_url
    user_id, family_id, scope_id = str(uuid.uuid4()), str(uuid.uuid4()), "reports:read"
    now = datetime.now(UTC)

    async def add() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(insert(scopes).values(organization_id=ORG_ID, id=scope_id,
                                                     description="", builtin=False))
            held = (await conn.execute(select(clients.c.scopes).where(
                clients.c.id == admin.id))).scalar_one()
            await conn.execute(update(clients).where(clients.c.id == admin.id).values(
                scopes=[*held, scope_id]))
            await conn.execute(insert(users).values(
                id=user_id, organization_id=ORG_ID, name="ada", email="ada@example.com",
                state="active", date_created=now, date_modified=now))
            await conn.execute(insert(grant_families).values(
                id=family_id, client_id=admin.id, user_id=user_id, created_at=now,
                expires_at=now + timedelta(days=1)))
        await engine.dispose()

    asyncio.run(add())
    return World(url, admin.id, user_id, family_id, scope_id)


def _claims(client_id: str, *, digest: str | None = None) -> TokenClaims:
    now = datetime.now(UTC).replace(microsecond=123456)
    return TokenClaims(digest=digest or uuid.uuid4().hex * 2, client_id=client_id,
                       subject_id=None, scope="", issued_at=now,
                       expires_at=now + timedelta(hours=1))


@asynccontextmanager
async def hot_store(url: str, *, feed: bool = True) -> AsyncIterator[HotStore]:
    """The hot store a server worker would build for ``url``, started and current."""
    path = sqlite_path(url)
    engine = create_engine(url)
    store: HotStore
    if path is not None:
        store = SqliteHotStore(path, busy_timeout_seconds=5.0)
    else:
        store = SqlHotStore(engine, feed=following(url, heartbeat=0.025, max_lag=0.1)
                            if feed else None)
    store.start()
    try:
        if isinstance(store, SqlHotStore) and store.feed is not None:
            await eventually(lambda: _true(), lambda _: store.feed is not None
                             and store.feed.current)
        yield store
    finally:
        await store.close()
        await engine.dispose()


async def _true() -> bool:
    return True


async def eventually(read: Callable[[], Awaitable[T]], holds: Callable[[T], bool]) -> T:
    """What ``read`` returns once ``holds`` is true of it; fails after the deadline."""
    deadline = asyncio.get_running_loop().time() + SEEN_WITHIN_SECONDS
    while True:
        value = await read()
        if holds(value):
            return value
        assert asyncio.get_running_loop().time() < deadline, f"still {value!r}"
        await asyncio.sleep(0.005)


@asynccontextmanager
async def plain_store(url: str) -> AsyncIterator[AsyncConnection]:
    """A transaction of another writer (the management API, the CLI, another worker)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


Change = Callable[[AsyncConnection, World], Awaitable[object]]
Read = Callable[[HotStore, World], Awaitable[object]]


async def _client(hot: HotStore, w: World) -> object:
    return await hot.client(w.client_id)


async def _live(hot: HotStore, w: World) -> object:
    return await hot.live_state(w.client_id, "d" * 64)


async def _family(hot: HotStore, w: World) -> object:
    return await hot.family_state(w.family_id)


def _past() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


# Every kind of change the token path must notice: (what, the change, what it reads, how the
# changed read looks).
CHANGES: list[tuple[str, Change, Read, Callable[[object], bool]]] = [
    ("client disabled",
     lambda c, w: c.execute(update(clients).where(clients.c.id == w.client_id).values(
         state="inactive")),
     _client, lambda r: getattr(r, "state", None) == "inactive"),
    ("client deleted",
     lambda c, w: c.execute(delete(clients).where(clients.c.id == w.client_id)),
     _client, lambda r: r is None),
    ("tokens cut off",
     lambda c, w: c.execute(update(clients).where(clients.c.id == w.client_id).values(
         tokens_valid_after=_past())),
     _live, lambda r: getattr(r, "tokens_valid_after", None) is not None),
    ("secret added",
     lambda c, w: c.execute(insert(client_secrets).values(
         id=str(uuid.uuid4()), client_id=w.client_id, digest="e" * 64,
         date_created=datetime.now(UTC), current=False)),
     _client, lambda r: len(getattr(r, "secrets", ())) == 2),
    ("secret cut",
     lambda c, w: c.execute(update(client_secrets).where(
         client_secrets.c.client_id == w.client_id).values(date_expires=_past())),
     _client, lambda r: all(s.date_expires is not None for s in getattr(r, "secrets", ()))),
    ("role removed",
     lambda c, w: c.execute(delete(client_role_divisions).where(
         client_role_divisions.c.client_id == w.client_id)),
     _client, lambda r: getattr(r, "roles", None) == ()),
    ("scope given an audience",
     lambda c, w: c.execute(update(scopes).where(scopes.c.id == w.scope_id).values(
         resource_server="https://reports.example")),
     _client, lambda r: dict(getattr(r, "resource_servers", ())).get("reports:read")
     == "https://reports.example"),
    ("deactivation planned",
     lambda c, w: c.execute(insert(deactivation_plans).values(
         client_id=w.client_id, date=_past() + timedelta(days=30), reason="retired",
         planned_at=_past(), planned_by={"kind": "cli", "id": "cli", "name": "cli"})),
     _client, lambda r: getattr(r, "sunset_at", None) is not None
     and getattr(r, "deprecated_at", None) is not None),
    ("token revoked",
     lambda c, w: c.execute(insert(revoked_tokens).values(
         digest="d" * 64, client_id=w.client_id, scope="", issued_at=_past(),
         expires_at=_past() + timedelta(hours=1), revoked_at=_past())),
     _live, lambda r: getattr(r, "revoked_at", None) is not None),
    ("family revoked",
     lambda c, w: c.execute(update(grant_families).where(
         grant_families.c.id == w.family_id).values(revoked_at=_past())),
     _family, lambda r: getattr(r, "revoked_at", None) is not None),
    ("user deactivated",
     lambda c, w: c.execute(update(users).where(users.c.id == w.user_id).values(
         state="inactive")),
     _family, lambda r: getattr(r, "user_state", None) == "inactive"),
]


@pytest.mark.parametrize(("change", "read", "changed"), [c[1:] for c in CHANGES],
                         ids=[c[0] for c in CHANGES])
def test_another_writers_change_is_seen(world: World, change: Change, read: Read,
                                        changed: Callable[[object], bool]) -> None:
    async def run() -> None:
        async with hot_store(world.url) as hot:
            before = await read(hot, world)
            assert not changed(before)
            assert await read(hot, world) == before  # kept, or read again: the same
            async with plain_store(world.url) as conn:
                await change(conn, world)
            await eventually(lambda: read(hot, world), changed)

    asyncio.run(run())


@pytest.mark.parametrize(("change", "read", "changed"), [c[1:] for c in CHANGES],
                         ids=[c[0] for c in CHANGES])
def test_this_workers_own_change_is_seen_at_once(
        world: World, change: Change, read: Read, changed: Callable[[object], bool]) -> None:
    """As the runtime wires it: a commit through the worker's engine drops its kept reads."""
    async def run() -> None:
        async with hot_store(world.url) as hot:
            engine: AsyncEngine = create_engine(world.url)
            if isinstance(hot, SqlHotStore):  # on SQLite, data_version tells
                on_write_done(engine, hot.forget)
            await read(hot, world)
            async with engine.begin() as conn:
                await change(conn, world)
            assert changed(await read(hot, world))  # no wait at all
            await engine.dispose()

    asyncio.run(run())


def test_revoking_twice_keeps_the_first_time(world: World) -> None:
    claims = _claims(world.client_id)
    first = datetime(2026, 12, 1, 9, 30, 15, 654321, tzinfo=UTC)

    async def run() -> None:
        async with hot_store(world.url) as hot:
            await hot.revoke(claims, now=first)
            await hot.revoke(claims, now=first + timedelta(minutes=5))
            live = await hot.live_state(world.client_id, claims.digest)
            assert live is not None
            assert live.revoked_at == first
            async with plain_store(world.url) as conn:
                row = (await conn.execute(select(revoked_tokens).where(
                    revoked_tokens.c.digest == claims.digest))).one()
            assert (row.revoked_at, row.issued_at, row.expires_at) == (
                first, claims.issued_at, claims.expires_at)

    asyncio.run(run())


def test_audit_chain_verifies_across_both_ways_of_appending(world: World) -> None:
    def event(action: str) -> AuditEvent:
        return AuditEvent(timestamp=datetime.now(UTC), actor_kind="client",
                          actor_id=world.client_id, actor_name="test admin", action=action,
                          entity_type="client", entity_id=world.client_id,
                          details={"nested": {"list": [1, "two"]}, "n": 3},
                          actor_divisions=("home",), request_id="req-1")

    async def run() -> None:
        async with hot_store(world.url) as hot:
            await hot.record(event("hot.one"))
            async with plain_store(world.url) as conn:
                await SqlAuditLog(conn).append(event("plain.one"))
            await hot.record_all([event("hot.two"), event("hot.three")])
            async with plain_store(world.url) as conn:
                log = SqlAuditLog(conn)
                assert await verify_chain(log) == []
                entries = [e.event async for e in log.all_in_order()]
        written = [e for e in entries if e.action.startswith(("hot.", "plain."))]
        assert [e.action for e in written] == ["hot.one", "plain.one", "hot.two", "hot.three"]
        assert all(e.details == {"nested": {"list": [1, "two"]}, "n": 3} for e in written)
        assert all(e.actor_divisions == ("home",) for e in written)

    asyncio.run(run())


def test_last_used_is_written_once_a_minute_in_the_stored_format(world: World) -> None:
    now = datetime(2026, 12, 4, 10, 0, 0, 250000, tzinfo=UTC)

    async def last_used() -> tuple[datetime | None, datetime | None]:
        async with plain_store(world.url) as conn:
            secret = (await conn.execute(select(client_secrets.c.date_last_used).where(
                client_secrets.c.client_id == world.client_id))).scalar_one()
            client = (await conn.execute(select(clients.c.date_last_used).where(
                clients.c.id == world.client_id))).scalar_one()
        return secret, client

    async def run() -> None:
        async with hot_store(world.url) as hot:
            record = await hot.client(world.client_id)
            assert record is not None
            secret_id = record.secrets[0].id
            async with plain_store(world.url) as conn:  # an earlier use than ``now``
                await conn.execute(update(client_secrets).values(date_last_used=None))
                await conn.execute(update(clients).values(date_last_used=None))
            await hot.mark_used(world.client_id, secret_id, now=now)
            assert await last_used() == (now, now)
            await hot.mark_used(world.client_id, secret_id, now=now + timedelta(seconds=59))
            assert await last_used() == (now, now)  # within the minute: left alone
            later = now + timedelta(seconds=61)
            await hot.mark_used(world.client_id, secret_id, now=later)
            assert await last_used() == (later, later)
            kept = await hot.client(world.client_id)
            assert kept is not None
            assert kept.date_last_used == later

    asyncio.run(run())


def test_usage_counts_are_added_not_replaced(world: World) -> None:
    day = date(2026, 12, 4)

    async def run() -> None:
        async with hot_store(world.url) as hot:
            for _ in range(3):
                hot.count_issued(world.client_id, day)
            await hot.flush()
            hot.count_issued(world.client_id, day)
            assert hot.held() == 1
            await hot.flush()
            assert hot.held() == 0
            async with plain_store(world.url) as conn:
                counted = (await conn.execute(select(client_usage.c.tokens_issued).where(
                    client_usage.c.client_id == world.client_id,
                    client_usage.c.day == day))).scalar_one()
        assert counted == 4

    asyncio.run(run())


# PostgreSQL only: what the change feed proves, and what happens when it cannot.

@pytest.fixture
def pg_world(world: World, store: str) -> World:
    if store != "postgres":
        pytest.skip("the change feed is PostgreSQL's")
    return world


async def _unannounced(url: str, client_id: str, state: str) -> None:
    """Change the client with the triggers off (as a restore or replication would)."""
    async with plain_store(url) as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(update(clients).where(clients.c.id == client_id).values(state=state))


def test_a_kept_read_is_served_while_the_feed_is_current(pg_world: World) -> None:
    async def run() -> None:
        async with hot_store(pg_world.url) as hot:
            assert (await hot.client(pg_world.client_id)) is not None
            await _unannounced(pg_world.url, pg_world.client_id, "inactive")
            record = await hot.client(pg_world.client_id)
            assert record is not None
            assert record.state == "active"

    asyncio.run(run())


def test_a_lost_feed_reads_the_database_until_it_is_back(pg_world: World) -> None:
    async def run() -> None:
        async with hot_store(pg_world.url) as hot:
            assert isinstance(hot, SqlHotStore)
            assert hot.feed is not None
            await hot.client(pg_world.client_id)
            async with plain_store(pg_world.url) as conn:
                await conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"),
                    {"name": "keystead-change-feed"})
            await eventually(_true, lambda _: not hot.feed.current)  # type: ignore[union-attr]
            await _unannounced(pg_world.url, pg_world.client_id, "inactive")
            record = await hot.client(pg_world.client_id)
            assert record is not None
            assert record.state == "inactive"
            await eventually(_true, lambda _: hot.feed.current)  # type: ignore[union-attr]
            record = await hot.client(pg_world.client_id)  # what was kept before: never again
            assert record is not None
            assert record.state == "inactive"

    asyncio.run(run())


def test_without_a_feed_nothing_is_kept(pg_world: World) -> None:
    """Behind a transaction pooler, without KEYSTEAD_DATABASE_LISTEN_URL."""
    async def run() -> None:
        async with hot_store(pg_world.url, feed=False) as hot:
            await hot.client(pg_world.client_id)
            await _unannounced(pg_world.url, pg_world.client_id, "inactive")
            record = await hot.client(pg_world.client_id)
            assert record is not None
            assert record.state == "inactive"

    asyncio.run(run())
