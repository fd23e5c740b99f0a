"""Alerts from a test: evaluate now (after the flushes the background loop would do), read them
by rule, and build a client's steady baseline day by day through real token requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import Registered
from tests.support.clock import ManualClock

ALERTS = "/api/v2/governance/alerts"
TOKEN = "/oauth/token"
CC = {"grant_type": "client_credentials"}
DAY = 86_400


async def _flush(runtime: Runtime) -> None:
    await runtime.flush_auth_failures(final=True)
    await runtime.hot.flush()
    await runtime.flush_evidence()


def flush(http: TestClient) -> None:
    """Write what this app counted in memory: failed authentications, usage, evidence."""
    run(http, _flush)


def evaluate_alerts(http: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    flush(http)
    response = http.post(f"{ALERTS}/evaluate", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def alerts_of(http: TestClient, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    response = http.get(ALERTS, headers=headers, params={"pageSize": "100", **filters})
    assert response.status_code == 200, response.text
    return list(response.json()["entities"])


def rules_of(http: TestClient, headers: dict[str, str], client_id: str) -> set[str]:
    return {a["rule"] for a in alerts_of(http, headers, clientId=client_id)}


@contextmanager
def source(settings: Settings, clock: ManualClock, address: str) -> Iterator[TestClient]:
    """An app over the same database whose callers come from ``address``."""
    app = create_app(settings, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver", client=(address, 50000)) as client:
        yield client


def tokens(caller: TestClient, client: Registered, count: int, *, scope: str = "") -> None:
    form = CC | ({"scope": scope} if scope else {})
    for _ in range(count):
        response = caller.post(TOKEN, data=form, auth=client.basic_auth)
        assert response.status_code == 200, response.text
    flush(caller)


def steady(caller: TestClient, clock: ManualClock, client: Registered, *, days: int,
           per_day: int, scope: str = "") -> None:
    """``per_day`` tokens a day for ``days`` days, starting the day after now; the clock ends
    on the next day after them."""
    for _ in range(days):
        clock.advance(DAY)
        tokens(caller, client, per_day, scope=scope)
    clock.advance(DAY)
