"""When the store cannot be reached: 503 temporarily_unavailable + Retry-After, never an answer
that makes a client throw away good credentials (invalid_client, active:false, 401).

How the store is made unreachable, honestly, per store:

- PostgreSQL: the app reaches the database through a TCP forwarder on 127.0.0.1. It starts normally
  (its pool already holds a connection), then the test pulls the plug: every forwarded connection is
  cut and the port refuses new ones, which is what a database host going down or a network
  partition looks like from the app. Nothing inside the app is touched.
- SQLite (embedded): the file cannot "go down" under an open descriptor (Linux keeps an unlinked
  file readable), so two real failures are used: the database file vanishes (its volume is gone,
  replaced by a directory) before the worker first opens it for the hot path; and another process
  holds the write lock longer than the busy timeout, while the worker is already serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.database import sqlite_path
from tests.outages import CutOff
from tests.support.apps import serve
from tests.support.clients import Registered
from tests.support.postgres import run_sql
from tests.support.tokens import bearer, introspect, token

CC = {"grant_type": "client_credentials"}


def assert_unavailable(response: httpx2.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["cache-control"] == "no-store"
    assert "www-authenticate" not in response.headers


def test_store_unreachable_token_endpoint_is_503(admin: Registered, cut_off: CutOff) -> None:
    app, sever = cut_off
    sever()
    assert_unavailable(app.post("/oauth/token", data=CC, auth=admin.basic_auth))
    # The same for credentials in the body, and for wrong ones: the store decides, and it is away.
    assert_unavailable(app.post("/oauth/token", data=CC | {
        "client_id": admin.id, "client_secret": admin.secret}))
    assert_unavailable(app.post("/oauth/token", data=CC, auth=(admin.id, "wrong")))


def test_store_unreachable_introspection_is_503_not_inactive(http: TestClient, admin: Registered,
                                                             cut_off: CutOff) -> None:
    valid = token(http, admin)
    app, sever = cut_off
    sever()
    assert_unavailable(app.post("/oauth/introspect", data={"token": valid},
                                auth=admin.basic_auth))


def test_store_unreachable_revocation_is_503(http: TestClient, admin: Registered,
                                             cut_off: CutOff) -> None:
    valid = token(http, admin)
    app, sever = cut_off
    sever()
    assert_unavailable(app.post("/oauth/revoke", data={"token": valid}, auth=admin.basic_auth))


def test_store_unreachable_api_is_503_not_401(http: TestClient, admin: Registered,
                                              cut_off: CutOff) -> None:
    valid = bearer(token(http, admin))
    app, sever = cut_off
    sever()
    for response in (app.get("/api/v2/tokens/me", headers=valid),
                     app.get("/api/v2/oauth/clients", headers=valid)):
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("store", ["sqlite"])
def test_store_locked_sqlite_writes_are_503_until_released(admin: Registered,
                                                          settings: Settings) -> None:
    # Another process holding the write lock past the busy timeout is the embedded store's
    # "unreachable" for writes. Issuing and checking tokens only read (WAL readers never wait),
    # so they go on; a revocation must write, gets 503, and works once the lock is gone.
    path = sqlite_path(settings.resolved_database_url)
    assert path is not None
    quick = settings.model_copy(update={"sqlite_busy_timeout_seconds": 0.2})
    with serve(quick) as app:
        issued = app.post("/oauth/token", data=CC, auth=admin.basic_auth)
        assert issued.status_code == 200
        value = issued.json()["access_token"]
        holder = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
            assert introspect(app, admin, value).json()["active"] is True
            assert_unavailable(app.post("/oauth/revoke", data={"token": value},
                                        auth=admin.basic_auth))
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert app.post("/oauth/revoke", data={"token": value},
                        auth=admin.basic_auth).status_code == 200
        assert introspect(app, admin, value).json()["active"] is False


# -- PostgreSQL refusing connections: what a restart, a failover or an operator looks like.
# The database itself says no (ALTER DATABASE, with the app's backends terminated), for real.

# (CONNECTION LIMIT 0 would be "too many connections", but the tests connect as a superuser,
# whom PostgreSQL still lets in.)
REFUSALS = [
    pytest.param("ALLOW_CONNECTIONS false", "ALLOW_CONNECTIONS true",
                 id="55000-not-accepting-connections"),
]


@contextlib.contextmanager
def refusing(settings: Settings, refuse: str, allow: str) -> Iterator[None]:
    """The app's database refuses new connections and its open ones are terminated."""
    url = make_url(settings.resolved_database_url)
    name, admin_url = url.database, url.set(database="postgres")
    asyncio.run(run_sql(
        admin_url.render_as_string(hide_password=False), f'ALTER DATABASE "{name}" {refuse}',
        # The name is the test's own database, not input.
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))  # noqa: S608
    try:
        yield
    finally:
        asyncio.run(run_sql(admin_url.render_as_string(hide_password=False),
                                  f'ALTER DATABASE "{name}" {allow}'))


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize(("refuse", "allow"), REFUSALS)
def test_store_refusing_connections_is_503_everywhere_then_recovers(
        settings: Settings, admin: Registered, refuse: str, allow: str) -> None:
    with serve(settings) as app:
        valid = app.post("/oauth/token", data=CC, auth=admin.basic_auth).json()["access_token"]
        with refusing(settings, refuse, allow):
            assert_unavailable(app.post("/oauth/token", data=CC, auth=admin.basic_auth))
            assert_unavailable(app.post("/oauth/introspect", data={"token": valid},
                                        auth=admin.basic_auth))
            assert_unavailable(app.post("/oauth/revoke", data={"token": valid},
                                        auth=admin.basic_auth))
            api = app.get("/api/v2/oauth/clients", headers=bearer(valid))
            assert api.status_code == 503, api.text
            assert int(api.headers["retry-after"]) > 0
        # Allowed again: the same app serves at once, with the same credentials.
        assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
        assert introspect(app, admin, valid).json()["active"] is True
