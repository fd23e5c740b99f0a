"""Upgrading a database that release 0.1.0 (schema 0004) filled, on each store: every row is kept,
and what worked before still works (secrets, rotation window, refresh token, audit chain)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import Connection, MetaData, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_verify import verify_chain
from keystead.store.migrate import alembic_config, upgrade
from keystead.web.app import create_app
from tests.store.release_data import DATA, decode
from tests.store.test_migrations import (  # noqa: F401 - the per-store fixture
    _sync,
    empty_database,
)
from tests.support.clients import CLIENTS
from tests.support.clock import ManualClock
from tests.support.tokens import bearer

RELEASE: dict[str, Any] = json.loads(DATA.read_text())


def _load_release(conn: Connection) -> None:
    """Insert the release's rows into the tables as schema 0004 declares them."""
    reflected = MetaData()
    reflected.reflect(conn)
    for table in reflected.sorted_tables:
        rows = RELEASE["tables"].get(table.name, [])
        if table.name != "alembic_version" and rows:
            conn.execute(insert(table), [{k: decode(v) for k, v in row.items()} for row in rows])


def _row_counts(conn: Connection) -> dict[str, int]:
    reflected = MetaData()
    reflected.reflect(conn)
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in reflected.sorted_tables}


@pytest.fixture
def upgraded(empty_database: str) -> str:  # noqa: F811 - the imported fixture, used here
    command.upgrade(alembic_config(empty_database), RELEASE["schema"])
    _sync(empty_database, _load_release)
    upgrade(empty_database)
    return empty_database


@pytest.fixture
def app_on_upgraded(upgraded: str, tmp_path: Any) -> Iterator[TestClient]:
    """The current server on the upgraded database, a minute after the release made its data."""
    settings = Settings(data_dir=tmp_path, database_url=upgraded,
                        secret_key=SecretStr(RELEASE["secret_key"]), issuer="http://testserver",
                        password_hash_memory_kib=8_192, password_hash_time_cost=1)
    clock = ManualClock(datetime.fromisoformat(RELEASE["made_at"]) + timedelta(minutes=1))
    with TestClient(create_app(settings, clock=clock, housekeeping_interval=False),
                    base_url="http://testserver") as http:
        yield http


def test_upgrade_keeps_every_row_of_the_release(upgraded: str) -> None:
    counts = _row_counts_of(upgraded)
    for table, rows in RELEASE["tables"].items():
        if table != "alembic_version":
            assert counts.get(table, 0) >= len(rows), table


def _row_counts_of(url: str) -> dict[str, int]:
    result: dict[str, int] = _sync(url, _row_counts)
    return result


def test_upgraded_audit_chain_verifies(upgraded: str) -> None:
    async def check() -> list[str]:
        engine = create_async_engine(upgraded)
        try:
            async with engine.begin() as conn:
                return await verify_chain(SqlAuditLog(conn))
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == []


def _token(http: TestClient, client: dict[str, str], which: str) -> Any:
    """A client_credentials request with the release client's secret named ``which``."""
    return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     auth=(client["id"], client[which]))


def test_release_secrets_still_get_tokens(app_on_upgraded: TestClient) -> None:
    http = app_on_upgraded
    admin = _token(http, RELEASE["admin"], "secret")
    assert admin.status_code == 200, admin.text
    assert _token(http, RELEASE["service"], "secret").status_code == 200
    # Regenerated with a one-hour dual-use window a minute ago: the previous secret still works.
    assert _token(http, RELEASE["service"], "previous_secret").status_code == 200
    listing = http.get(CLIENTS, headers=bearer(admin.json()["access_token"]))
    assert listing.status_code == 200
    names = {c["name"]: c["state"] for c in listing.json()["entities"]}
    assert names["old batch job"] == "disabled"
    assert names["contact sync"] == "active"


def test_release_refresh_token_still_refreshes(app_on_upgraded: TestClient) -> None:
    web = RELEASE["web"]
    response = app_on_upgraded.post("/oauth/token", auth=(web["id"], web["secret"]), data={
        "grant_type": "refresh_token", "refresh_token": web["refresh_token"]})
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]
