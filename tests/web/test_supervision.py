"""Background loops are supervised: a failure is logged and retried with back-off, the loop
never dies, and usage counts that could not be written are kept until they are."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.errors import StoreUnavailableError
from keystead.store.database import sqlite_path
from keystead.web.runtime import Runtime
from keystead.web.supervision import SupervisedLoop
from tests.outages import TcpValve
from tests.support.apps import run, serve
from tests.support.clients import Registered
from tests.support.postgres import run_sql
from tests.web.test_store_unavailable import CC


class Recorded:
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def ran(self, name: str, outcome: str) -> None:
        self.outcomes.append(f"{name}:{outcome}")


def test_supervised_loop_survives_failures_and_logs_them(
        caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []
    recorded = Recorded()

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("boom")
        if len(attempts) == 2:
            raise StoreUnavailableError("OSError")

    async def scenario() -> SupervisedLoop:
        # On a clock that stands still, "alive" means that the task outlived the failures, not
        # that a busy machine ran it again within 2 ms.
        loop = SupervisedLoop("usage-flush", flaky, 0.001, metrics=recorded,
                              monotonic=lambda: 0.0)
        loop.start()
        while len(attempts) < 4:
            await asyncio.sleep(0.001)
        assert loop.problem() is None  # alive after two failures
        await loop.stop()
        return loop

    with caplog.at_level(logging.WARNING, logger="keystead.usage-flush"):
        loop = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert recorded.outcomes[:3] == ["usage-flush:failed", "usage-flush:unreachable",
                                     "usage-flush:ok"]
    assert loop.failures == 0
    logged = [r for r in caplog.records if r.name == "keystead.usage-flush"]
    assert len(logged) == 2
    assert all(r.exc_info is not None for r in logged)  # with the traceback


def test_supervised_loop_backs_off_up_to_a_cap() -> None:
    async def broken() -> None:
        raise ValueError("always")

    async def scenario() -> list[float]:
        loop = SupervisedLoop("housekeeping", broken, 0.001, max_backoff=0.004,
                              monotonic=lambda: 0.0)  # see the test above
        loop.start()
        waits: list[float] = []
        while len(waits) < 4:
            await asyncio.sleep(0.0005)
            if loop.runs > len(waits) and loop.failures == loop.runs:
                waits.append(loop.next_wait)
        assert loop.problem() is None
        await loop.stop()
        return waits

    logging.getLogger("keystead.housekeeping").disabled = True
    try:
        waits = asyncio.run(asyncio.wait_for(scenario(), 10))
    finally:
        logging.getLogger("keystead.housekeeping").disabled = False
    assert waits[0] == 0.002
    assert waits[-1] == 0.004  # capped


def test_supervised_loop_is_not_alive_once_stopped() -> None:
    async def fine() -> None:
        return None

    async def scenario() -> tuple[str | None, str | None]:
        loop = SupervisedLoop("key-reload", fine, 60.0)
        loop.start()
        alive = loop.problem()
        await loop.stop()
        return alive, loop.problem()

    assert asyncio.run(scenario()) == (None, "stopped")


USAGE_TOTAL = text("SELECT coalesce(sum(tokens_issued), 0) FROM client_usage WHERE client_id = :id")


def usage_total(settings: Settings, client_id: str) -> int:
    """The tokens the database has counted for the client, read directly."""
    return asyncio.run(_usage_total(settings.resolved_database_url, client_id))


async def _usage_total(url: str, client_id: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(USAGE_TOTAL, {"id": client_id})).scalar_one())
    finally:
        await engine.dispose()


def flush(app: TestClient) -> None:
    async def work(runtime: Runtime) -> None:
        await runtime.hot.flush()
    run(app, work)


def held(app: TestClient) -> int:
    async def work(runtime: Runtime) -> int:
        return runtime.hot.held()
    return run(app, work)


def issue(app: TestClient, admin: Registered, count: int) -> None:
    for _ in range(count):
        assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_usage_counts_survive_a_database_outage_postgres(settings: Settings,
                                                         admin: Registered) -> None:
    url = make_url(settings.resolved_database_url)
    valve = TcpValve(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=valve.port).render_as_string(hide_password=False)
    with serve(settings.model_copy(update={"database_url": proxied})) as app:
        issue(app, admin, 5)
        valve.shut()

        # Tokens issued a moment before the outage, still counted in memory: what issuing does.
        async def count(runtime: Runtime) -> None:
            for _ in range(7):
                runtime.hot.count_issued(admin.id, datetime.now(UTC).date())
        run(app, count)
        with pytest.raises(StoreUnavailableError):
            flush(app)
        assert held(app) >= 7  # kept, not lost
        valve.open()
        flush(app)
        assert held(app) == 0
        assert app.get("/health/ready").status_code == 200  # the flush loop is alive
    valve.shut()
    assert usage_total(settings, admin.id) == 12


@pytest.mark.parametrize("store", ["sqlite"])
def test_usage_counts_survive_a_locked_database_sqlite(settings: Settings,
                                                      admin: Registered) -> None:
    path = sqlite_path(settings.resolved_database_url)
    assert path is not None
    quick = settings.model_copy(update={"sqlite_busy_timeout_seconds": 0.2})
    with serve(quick) as app:
        issue(app, admin, 5)
        holder = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            issue(app, admin, 7)  # reads never wait: tokens go on being issued
            with pytest.raises(StoreUnavailableError):
                flush(app)
            assert held(app) >= 7
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        flush(app)
        assert held(app) == 0
        assert app.get("/health/ready").status_code == 200
    assert usage_total(settings, admin.id) == 12


def _fail_over(url: str, *, read_only: bool) -> None:
    """The database comes back as a read-only standby (or writable again): every existing
    connection is cut, and new ones get the database's new default."""
    name = make_url(url).database
    setting = (f'ALTER DATABASE "{name}" SET default_transaction_read_only = on' if read_only
               else f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    cut = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 - our name
           f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
    # From another database: a read-only one could not be made writable again from inside.
    asyncio.run(run_sql(make_url(url).set(database="postgres").render_as_string(
        hide_password=False), setting, cut))


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_usage_counts_survive_a_read_only_failover_postgres(settings: Settings,
                                                            admin: Registered) -> None:
    # Not a connection failure: the write itself is refused (an error the store does not
    # translate to "unavailable"), which used to lose the counts and kill the flush loop.
    url = settings.resolved_database_url
    with serve(settings) as app:
        issue(app, admin, 5)
        _fail_over(url, read_only=True)
        try:
            issue(app, admin, 7)  # issuing only reads: it goes on
            with pytest.raises(Exception, match="read-only"):
                flush(app)
            assert held(app) >= 7
        finally:
            _fail_over(url, read_only=False)
        flush(app)
        assert held(app) == 0
        assert app.get("/health/ready").status_code == 200  # the flush loop is alive
    assert usage_total(settings, admin.id) == 12


def test_supervised_loop_that_hangs_is_not_alive() -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    async def scenario() -> str | None:
        now = [0.0]  # the heartbeat's clock, moved by hand
        loop = SupervisedLoop("housekeeping", hangs, 0.001, stuck_after=0.02,
                              monotonic=lambda: now[0])
        loop.start()
        while loop.attempt_started is None:  # the first attempt has begun, and hangs
            await asyncio.sleep(0.001)
        now[0] = 0.01
        assert loop.problem() is None  # a slow attempt is not a dead loop
        now[0] = 0.06  # but one running past stuck_after is
        problem = loop.problem()
        await loop.stop()
        return problem

    problem = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert problem is not None
    assert problem.startswith("one attempt running for")
