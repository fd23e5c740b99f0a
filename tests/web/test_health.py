"""GET /health/live and /health/ready: what a load balancer polls.

Outages are real, as in test_store_unavailable.py: PostgreSQL through a TCP forwarder the test
cuts, SQLite by its file vanishing; a schema behind the code is a real Alembic downgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import httpx2
from alembic import command
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.migrate import alembic_config, head_revision, upgrade
from keystead.web.readiness import Readiness
from tests.outages import CutOff
from tests.support.apps import serve


def readiness(http: TestClient) -> Readiness:
    found: Readiness = http.app.state.readiness  # type: ignore[attr-defined]
    return found


def assert_not_ready(response: httpx2.Response, check: str) -> dict[str, Any]:
    assert response.status_code == 503
    body: dict[str, Any] = response.json()
    assert body["status"] == "not ready"
    assert body["checks"][check]["ok"] is False
    assert any(problem.startswith(f"{check}: ") for problem in body["problems"]), body
    assert response.headers["cache-control"] == "no-store"
    return body


def test_health_live_answers(http: TestClient) -> None:
    response = http.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_health_live_needs_no_database(cut_off: CutOff) -> None:
    app, sever = cut_off
    sever()
    assert app.get("/health/live").status_code == 200


def test_health_ready_when_everything_is_up(http: TestClient) -> None:
    response = http.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["problems"] == []
    checks = body["checks"]
    assert {name for name, check in checks.items() if check["ok"]} == {
        "database", "migrations", "signing_key", "loops"}
    assert checks["migrations"]["revision"] == head_revision()
    assert checks["loops"]["loops"]["usage-flush"]["alive"] is True
    assert "redis" not in checks  # not configured, not asked
    assert response.headers["cache-control"] == "no-store"


def test_health_ready_needs_no_authentication_and_shows_no_secret(settings: Settings,
                                                                   http: TestClient) -> None:
    text = http.get("/health/ready").text
    assert settings.secret_key.get_secret_value() not in text
    assert settings.resolved_database_url not in text


def test_health_ready_is_503_when_the_database_is_unreachable(cut_off: CutOff) -> None:
    app, sever = cut_off
    assert app.get("/health/ready").status_code == 200
    sever()
    body = assert_not_ready(app.get("/health/ready"), "database")
    assert body["checks"]["migrations"]["ok"] is False  # cannot be known either


def test_health_ready_is_503_when_a_loop_is_dead(http: TestClient) -> None:
    flush = readiness(http).loops[0]
    assert flush.name == "usage-flush"

    async def kill() -> None:
        task = flush._task
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert http.portal is not None
    http.portal.call(kill)
    body = assert_not_ready(http.get("/health/ready"), "loops")
    assert "usage-flush" in str(body["problems"])
    assert body["checks"]["database"]["ok"] is True


def test_health_ready_runs_every_loop_of_a_production_app(settings: Settings) -> None:
    from keystead.web.app import create_app

    with TestClient(create_app(settings)) as app:
        response = app.get("/health/ready")
        assert response.status_code == 200, response.text
        assert set(response.json()["checks"]["loops"]["loops"]) == {
            "usage-flush", "housekeeping", "key-reload", "outbox", "audit-stream", "access-reviews",
            "findings", "alerts", "secret-rotation"}


def test_health_ready_is_503_when_migrations_are_behind(settings: Settings) -> None:
    url = settings.resolved_database_url
    command.downgrade(alembic_config(url), "0003")
    try:
        with serve(settings) as app:
            body = assert_not_ready(app.get("/health/ready"), "migrations")
            assert body["checks"]["migrations"]["revision"] == "0003"
            assert body["checks"]["migrations"]["expected"] == head_revision()
            assert body["checks"]["database"]["ok"] is True
    finally:
        upgrade(url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_health_ready_asks_redis_when_configured(settings: Settings) -> None:
    configured = settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:6379/0")})
    with serve(configured) as app:
        response = app.get("/health/ready")
        assert response.status_code == 200, response.text
        assert response.json()["checks"]["redis"]["ok"] is True


def test_health_ready_is_503_when_redis_is_unreachable(settings: Settings) -> None:
    url = f"redis://:hunter2-redis-password@127.0.0.1:{_closed_port()}/0"
    with serve(settings.model_copy(update={"redis_url": SecretStr(url)})) as app:
        response = app.get("/health/ready")
        assert_not_ready(response, "redis")
        assert "hunter2" not in response.text
