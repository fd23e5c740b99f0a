"""Alerts raised from what the audit log records as it happens: a source failing against many
client ids (its spike and the throttle engaging), a failed audit-chain verification; who may
read and act on alerts; the console page's acknowledge and resolve buttons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.tables import audit_events
from keystead.web.runtime import Runtime
from tests.people import Console
from tests.support.alerts import ALERTS, CC, TOKEN, alerts_of, evaluate_alerts, source
from tests.support.apps import run
from tests.support.cli import keystead_cli
from tests.support.clients import bootstrap
from tests.support.clock import ManualClock
from tests.support.findings import make_role
from tests.support.tokens import bearer, token

PAGES = "/admin/governance/alerts"
ATTACKER = "192.0.2.66"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))


def test_alerts_one_source_failing_against_many_ids_is_a_source_spike_and_throttled(
        http: TestClient, headers: dict[str, str], settings: Settings,
        clock: ManualClock) -> None:
    with source(settings, clock, ATTACKER) as attacker:
        for _ in range(110):  # past the source minimum (50) and the source throttle (100)
            refused = attacker.post(TOKEN, data=CC, auth=(str(uuid.uuid4()), "guess-" * 6))
            assert refused.status_code in (401, 429)
        evaluate_alerts(attacker, headers)

    [spike] = alerts_of(http, headers, rule="failed-auth-source-spike")
    assert (spike["subject"], spike["clientId"], spike["severity"]) == (ATTACKER, None, "high")
    assert spike["evidence"]["failures"] == 110
    throttled = alerts_of(http, headers, rule="throttling-engaged")
    # The ids name no client: one alert about the source, counting each throttled id.
    assert [(a["subject"], a["clientId"]) for a in throttled] == [(ATTACKER, None)]
    assert throttled[0]["count"] >= 1


def test_alerts_failed_audit_verification_is_a_critical_alert(
        http: TestClient, headers: dict[str, str], settings: Settings) -> None:
    evaluate_alerts(http, headers)

    async def tamper(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(update(audit_events).where(audit_events.c.seq == 1)
                               .values(action="noop"))

    run(http, tamper)
    verified = keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                             "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                             "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()},
                            "audit", "verify")
    assert verified.returncode == 1
    evaluate_alerts(http, headers)

    [broken] = alerts_of(http, headers, rule="audit-chain-broken")
    assert (broken["severity"], broken["clientId"], broken["state"]) == (
        "critical", None, "open")
    assert broken["evidence"]["first"] == "entry 1: contents do not match its hash (edited)"


def test_alerts_need_their_permissions(http: TestClient, headers: dict[str, str]) -> None:
    make_role(http, headers, "Reader", ["oauth:client:view"])
    reader = bootstrap(http, name="reader", roles=["Reader"],
                       scopes=["governance", "governance:readonly"])
    reader_headers = bearer(token(http, reader))
    assert http.get(ALERTS, headers=reader_headers).status_code == 403
    assert http.post(f"{ALERTS}/evaluate", headers=reader_headers).status_code == 403
    assert http.get(f"{ALERTS}/{uuid.uuid4()}", headers=headers).status_code == 404


def test_alerts_console_acknowledges_and_resolves(
        http: TestClient, headers: dict[str, str], console: Console) -> None:
    svc = bootstrap(http, name="noisy svc", roles=["OAuth Admin"])
    for _ in range(25):
        http.post(TOKEN, data=CC, auth=(svc.id, "wrong-" * 6))
    evaluate_alerts(http, headers)
    [alert] = alerts_of(http, headers, rule="failed-auth-spike", clientId=svc.id)
    listed = http.get(PAGES, params={"rule": "failed-auth-spike"})
    assert f'data-alert-id="{alert["id"]}"' in listed.text
    assert "noisy svc" in listed.text

    acknowledged = console.post(f"{PAGES}/{alert['id']}/acknowledge")
    assert acknowledged.status_code == 200
    assert "Alert acknowledged" in acknowledged.text
    resolved = console.post(f"{PAGES}/{alert['id']}/resolve")
    assert "Alert resolved" in resolved.text
    assert alerts_of(http, headers, clientId=svc.id, rule="failed-auth-spike")[0][
        "resolved"]["by"]["id"] == console.person.id
    again = console.post(f"{PAGES}/{alert['id']}/resolve")
    assert again.status_code == 400
