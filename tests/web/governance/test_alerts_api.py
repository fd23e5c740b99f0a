"""/api/v2/governance/alerts (issue 13 §2): a burst of failed authentications reaches the owner's
inbox and mail as one alert that counts later bursts, is acknowledged and resolved, all audited;
the baseline rules fire on a new network, a silent day, an unseen scope; the audit rules on an
off-hours secret regeneration and an added role; a steady client raises nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Person, create_user, sign_in
from tests.support.alerts import (
    ALERTS,
    CC,
    TOKEN,
    alerts_of,
    evaluate_alerts,
    rules_of,
    source,
    steady,
    tokens,
)
from tests.support.clients import CLIENTS, Registered, bootstrap, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events, home_division_id, role_id
from tests.support.smtp import smtp_server
from tests.support.tokens import bearer, token
from tests.web.governance.support import send, set_owner

POLICY = "/api/v2/governance/policy"
WRONG = "not-the-secret-" + "z" * 30
BURST = 25  # failed authentications: above the default minimum of 20 in the window
HOME = "203.0.113.7"


@pytest.fixture
def clock() -> ManualClock:
    """Wednesday 2 December 2026, 10:00 UTC: inside the default change window."""
    return ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def owner(http: TestClient) -> Person:
    return create_user(http, "owner@example.com", name="Olive Owner")


def _burst(http: TestClient, client: Registered) -> None:
    for _ in range(BURST):
        refused = http.post(TOKEN, data=CC, auth=(client.id, WRONG))
        assert refused.status_code in (401, 429)  # throttled after the first ten


def _one(http: TestClient, headers: dict[str, str], rule: str, **filters: str
         ) -> dict[str, Any]:
    [alert] = alerts_of(http, headers, rule=rule, **filters)
    return alert


def _set_policy(http: TestClient, headers: dict[str, str], **fields: Any) -> None:
    response = http.put(POLICY, headers=headers, json=fields)
    assert response.status_code == 200, response.text


def _service(http: TestClient, name: str = "billing svc") -> Registered:
    return bootstrap(http, name=name, roles=["OAuth Admin"],
                     scopes=["oauth:readonly", "audits:readonly"])


def test_alerts_failed_authentication_burst_reaches_the_owners_inbox_and_mail(
        http: TestClient, headers: dict[str, str], super_admin: str, owner: Person,
        smtp_port: int) -> None:
    svc = create_client(http, headers, client_body(super_admin))
    set_owner(http, svc.id, owner.id)
    _burst(http, svc)

    assert evaluate_alerts(http, headers)["raised"] >= 1

    alert = _one(http, headers, "failed-auth-spike", clientId=svc.id)
    assert (alert["state"], alert["count"], alert["severity"]) == ("open", 1, "high")
    assert alert["evidence"]["failures"] == BURST
    assert alert["links"]["client"] == f"{CLIENTS}/{svc.id}"
    with smtp_server(smtp_port) as mailbox:
        send(http)
    mailed = [m["Subject"] for m in mailbox.to("owner@example.com")]
    assert any("failed-auth-spike" in subject for subject in mailed)
    assert not [m for m in mailbox.messages if WRONG in str(m) or svc.secret in str(m)]
    sign_in(http, owner)
    inbox = http.get("/admin/inbox")
    assert "alert failed-auth-spike" in inbox.text
    assert audit_events(http, headers, entity_id=alert["id"], action="raise")


def test_alerts_second_burst_counts_on_the_same_open_alert(
        http: TestClient, headers: dict[str, str], clock: ManualClock) -> None:
    svc = _service(http)
    _burst(http, svc)
    evaluate_alerts(http, headers)
    evaluate_alerts(http, headers)  # the same burst, still in the window: no new occurrence
    assert _one(http, headers, "failed-auth-spike", clientId=svc.id)["count"] == 1
    clock.advance(2 * 3600)  # the window (60 minutes) has passed: quiet
    headers = bearer(token(http, bootstrap(http, name="ops", roles=["Super Admin"])))
    evaluate_alerts(http, headers)

    _burst(http, svc)
    evaluate_alerts(http, headers)

    alert = _one(http, headers, "failed-auth-spike", clientId=svc.id)
    assert (alert["count"], alert["state"]) == (2, "open")


def test_alerts_acknowledge_then_resolve_through_the_api_audited(
        http: TestClient, headers: dict[str, str], admin: Registered) -> None:
    svc = _service(http)
    _burst(http, svc)
    evaluate_alerts(http, headers)
    alert = _one(http, headers, "failed-auth-spike", clientId=svc.id)

    acknowledged = http.post(f"{ALERTS}/{alert['id']}/acknowledge", headers=headers)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["state"] == "acknowledged"
    assert acknowledged.json()["acknowledged"]["by"]["id"] == admin.id
    again = http.post(f"{ALERTS}/{alert['id']}/acknowledge", headers=headers)
    assert again.status_code == 400
    assert again.json()["details"][0]["fieldName"] == "state"
    resolved = http.post(f"{ALERTS}/{alert['id']}/resolve", headers=headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved"

    trail = [e["action"] for e in audit_events(http, headers, entity_id=alert["id"])]
    assert {"raise", "acknowledge", "resolve"} <= set(trail)
    assert alerts_of(http, headers, clientId=svc.id, state="open", rule="failed-auth-spike") == []


def test_alerts_list_refuses_an_unknown_rule_naming_the_field(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.get(ALERTS, headers=headers, params={"rule": "nope"})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "rule"


def test_alerts_steady_client_raises_nothing(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    _set_policy(http, bearer(token(http, admin)), alertVolumeMinimum=3)
    svc = _service(http)
    with source(settings, clock, HOME) as home:
        steady(home, clock, svc, days=14, per_day=5, scope="oauth:readonly")
        tokens(home, svc, 5, scope="oauth:readonly")
    headers = bearer(token(http, admin))

    evaluate_alerts(http, headers)

    assert rules_of(http, headers, svc.id) == set()


def test_alerts_new_source_network(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    svc = _service(http)
    with source(settings, clock, HOME) as home:
        steady(home, clock, svc, days=14, per_day=2)
    with source(settings, clock, "198.51.100.9") as elsewhere:
        tokens(elsewhere, svc, 1)
    headers = bearer(token(http, admin))

    evaluate_alerts(http, headers)

    alert = _one(http, headers, "new-source-network", clientId=svc.id)
    assert alert["evidence"]["newNetworks"] == ["198.51.100.0/24"]
    assert alert["evidence"]["knownNetworks"] == ["203.0.113.0/24"]


def test_alerts_volume_drop_to_zero(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    _set_policy(http, bearer(token(http, admin)), alertVolumeMinimum=3)
    svc = _service(http)
    with source(settings, clock, HOME) as home:
        steady(home, clock, svc, days=14, per_day=5)
    clock.advance(86_400)  # a whole day without a token
    headers = bearer(token(http, admin))

    evaluate_alerts(http, headers)

    alert = _one(http, headers, "token-volume-low", clientId=svc.id)
    assert (alert["evidence"]["tokens"], alert["evidence"]["baselineMean"]) == (0, 5.0)


def test_alerts_scope_unseen_in_the_lookback(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    svc = _service(http)
    with source(settings, clock, HOME) as home:
        steady(home, clock, svc, days=14, per_day=2, scope="oauth:readonly")
        tokens(home, svc, 1, scope="audits:readonly")
    headers = bearer(token(http, admin))

    evaluate_alerts(http, headers)

    alert = _one(http, headers, "unseen-scope", clientId=svc.id)
    assert alert["evidence"]["newScopes"] == ["audits:readonly"]


def test_alerts_secret_regenerated_off_hours(
        http: TestClient, headers: dict[str, str], clock: ManualClock, admin: Registered
) -> None:
    _set_policy(http, headers, alertRareActorActions=0)  # judge the hour alone
    svc = _service(http)
    assert http.post(f"{CLIENTS}/{svc.id}/secret", headers=headers).status_code == 200
    evaluate_alerts(http, headers)
    assert "unusual-change" not in rules_of(http, headers, svc.id)  # 10:00 on a Wednesday
    clock.advance(13 * 3600)  # 23:00
    headers = bearer(token(http, admin))

    assert http.post(f"{CLIENTS}/{svc.id}/secret", headers=headers).status_code == 200
    evaluate_alerts(http, headers)

    alert = _one(http, headers, "unusual-change", clientId=svc.id)
    assert alert["evidence"]["reasons"] == ["outside-change-window"]
    assert alert["evidence"]["action"] == "secret.regenerate"


def test_alerts_role_added_to_a_client(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    svc = _service(http)
    current = http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()
    oauth_admin = role_id(http, headers, "OAuth Admin")
    changed = http.put(f"{CLIENTS}/{svc.id}", headers=headers,
                       json=current | {"roleIds": [oauth_admin, super_admin]})
    assert changed.status_code == 200, changed.text

    evaluate_alerts(http, headers)

    alert = _one(http, headers, "privileges-added", clientId=svc.id)
    home = home_division_id(http, headers)
    assert alert["evidence"]["added"] == [f"{super_admin}@{home}"]
