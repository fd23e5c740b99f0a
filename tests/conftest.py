"""Fixtures: a fresh database per test (SQLite always, PostgreSQL when configured), the app, an
httpx client driving it, and an admin client bootstrapped the way an operator does it."""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import KeyRing
from keystead.log_setup import ROOT_LOGGER, StderrHandler
from keystead.protocol.keys import generate_key, key_cipher
from keystead.store.database import create_engine
from keystead.store.migrate import upgrade
from keystead.store.seed import seed
from keystead.store.tables import metadata
from keystead.web.app import create_app
from keystead.web.runtime import utc_now
from tests.people import Console, create_user, sign_in
from tests.support.apps import serve
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.compiled_cache import share_compiled_statements
from tests.support.genesys_sdk import import_without_watcher, uses_sdk
from tests.support.management import role_id
from tests.support.needs import fold_missing
from tests.support.postgres import throwaway_database, url_of
from tests.support.servers import reserved_port, uvicorn_on
from tests.support.tokens import bearer, token

SECRET_KEY = "test-server-key-" + "x" * 40
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _seed(url: str) -> None:
    engine = create_engine(url)
    await _fill(engine)
    await engine.dispose()


async def _fill(engine: AsyncEngine, *, empty_first: bool = False) -> None:
    cipher = key_cipher(KeyRing.parse("", single=SECRET_KEY))
    async with engine.begin() as conn:
        if empty_first:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
        await seed(conn, now=utc_now(), make_key=lambda: generate_key(cipher))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite file that each test copies (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "keystead.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    asyncio.run(_seed(url))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this run, migrated once."""
    with throwaway_database("keystead_test") as name:
        url = url_of(name)
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def reset_postgres(postgres_database: str) -> Iterator[Callable[[], None]]:
    """Empty every table and seed again, in one transaction, on one engine and event loop kept
    for the worker's run: a new engine each test cost about 40 ms (connecting and asking the
    server about itself) of the reset's 60; the reset now takes about 17 ms.

    DELETE, children first, and not TRUNCATE: on tables this small it takes about 0.01 s against
    0.2 s (TRUNCATE makes new files for every table), and the suite does it before every
    PostgreSQL test."""
    loop = asyncio.new_event_loop()
    engine = create_engine(postgres_database)
    yield lambda: loop.run_until_complete(_fill(engine, empty_first=True))
    loop.run_until_complete(engine.dispose())
    loop.close()


def pytest_configure() -> None:
    share_compiled_statements()


def pytest_collection_finish() -> None:
    """What is imported and collected by now (the app, SQLAlchemy, the Genesys SDK's models:
    about 460,000 objects) lives for the whole run: take it out of the garbage collector's
    sight, or every full collection walks it again (a fifth of the client and user API tests'
    time went to collections)."""
    gc.collect()
    gc.freeze()


def pytest_pycollect_makemodule(module_path: Path) -> None:
    """Before a test module that uses the Genesys SDK is imported, import the SDK without its
    home-directory watcher (see tests/support/genesys_sdk); pytest then collects as usual."""
    if uses_sdk(module_path):
        import_without_watcher()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    fold_missing(report, call)
    return report


@pytest.fixture(autouse=True)
def _fresh_keystead_logging() -> Iterator[None]:
    """create_app configures the ``keystead`` loggers (level, handler): undo it after each test,
    so one test's KEYSTEAD_LOG_LEVEL does not decide what the next one sees."""
    yield
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(logging.NOTSET)
    for handler in [h for h in logger.handlers if isinstance(h, StderrHandler)]:
        logger.removeHandler(handler)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if store == "postgres":
        request.getfixturevalue("reset_postgres")()
        return str(request.getfixturevalue("postgres_database"))
    template: Path = request.getfixturevalue("sqlite_template")
    shutil.copy(template, tmp_path / "keystead.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'keystead.db'}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # argon2id at its cheapest allowed cost: the same code path, a fraction of the time.
    return Settings(data_dir=tmp_path, database_url=database_url,
                    secret_key=SecretStr(SECRET_KEY), issuer="http://testserver",
                    password_hash_memory_kib=8_192, password_hash_time_cost=1)


@pytest.fixture
def http(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """The app on ``clock``: time stands still until the test moves it."""
    app = create_app(settings, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def admin(http: TestClient) -> Registered:
    """A client-credentials client holding Super Admin, as `keystead bootstrap-client` makes."""
    return bootstrap(http, name="test admin", roles=["Super Admin"])


@pytest.fixture
def headers(http: TestClient, admin: Registered) -> dict[str, str]:
    """The admin's bearer token, as request headers."""
    return bearer(token(http, admin))


@pytest.fixture
def super_admin(http: TestClient, headers: dict[str, str]) -> str:
    """The id of the built-in Super Admin role."""
    return role_id(http, headers, "Super Admin")


@pytest.fixture
def console(http: TestClient) -> Console:
    """The console, signed in as a Super Admin user who enrolled TOTP on the way in."""
    person = create_user(http, "root@example.com", roles=("Super Admin",))
    sign_in(http, person)
    return Console(http, person)


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves; pass it to create_app(settings, clock=clock)."""
    return ManualClock()


@pytest.fixture
def clocked(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """An app on ``clock`` (another, beside ``http`` on the same clock, if the test has both)."""
    with serve(settings, clock=clock) as client:
        yield client


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app behind a real uvicorn on a loopback port, for clients that need real HTTP."""
    port = reserved_port()
    url = f"http://127.0.0.1:{port}"
    with uvicorn_on(settings.model_copy(update={"issuer": url}), port):
        yield url
