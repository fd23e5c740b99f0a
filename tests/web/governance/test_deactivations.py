"""Planned deactivation (issue 12 §6): the owner is told at once and again before the date; the
client works until the date, becomes inactive on it and is deleted after the retention period;
rescheduling and cancelling are audited. Driven on the manual clock."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.web.app import purge
from tests.people import Person, create_user
from tests.support.apps import run
from tests.support.clients import Registered, bootstrap, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.smtp import smtp_server
from tests.support.tokens import bearer, token
from tests.web.governance.support import CLIENTS, rows, send, set_owner, set_policy

PLANS = "/api/v2/governance/deactivations"
DAY = 86_400


@pytest.fixture
def owner(http: TestClient) -> Person:
    return create_user(http, "owner@example.com", name="Olive Owner")


@pytest.fixture
def target(http: TestClient, headers: dict[str, str], super_admin: str, owner: Person
           ) -> Registered:
    set_policy(http, deactivation_notice_days=3, deactivation_retention_days=15)
    client = create_client(http, headers, client_body(super_admin, name="billing service"))
    set_owner(http, client.id, owner.id)
    return client


def _at(clock: ManualClock, days: int) -> str:
    return (clock.now + timedelta(days=days)).isoformat()


def _plan(http: TestClient, headers: dict[str, str], client_id: str, **body: Any) -> Any:
    return http.put(f"{PLANS}/{client_id}", json=body, headers=headers)


def _kinds(http: TestClient, owner: Person) -> list[str]:
    return sorted(r["kind"] for r in rows(
        http, f"SELECT kind FROM notices WHERE recipient_id = '{owner.id}'"))  # noqa: S608


def test_deactivation_plan_tells_the_owner_and_ends_on_its_date(
        http: TestClient, headers: dict[str, str], admin: Registered, target: Registered,
        owner: Person, clock: ManualClock, smtp_port: int, super_admin: str) -> None:
    replacement = create_client(http, headers, client_body(super_admin,
                                                           name="billing service v2"))
    planned = _plan(http, headers, target.id, deactivateAt=_at(clock, 10),
                    reason="replaced by v2", replacementClientId=replacement.id)
    assert planned.status_code == 200, planned.text
    assert (planned.json()["reason"], planned.json()["replacementClientId"]) == (
        "replaced by v2", replacement.id)
    with smtp_server(smtp_port) as mailbox:
        send(http)
    [mail] = mailbox.to("owner@example.com")
    assert "will be deactivated on" in mail["Subject"]
    # Until the reminder window nothing more; then one reminder, once.
    clock.advance(6 * DAY)
    run(http, purge)
    assert _kinds(http, owner) == ["deactivation.scheduled"]
    clock.advance(1 * DAY + 1)
    run(http, purge)
    run(http, purge)
    assert _kinds(http, owner) == ["deactivation.scheduled", "deactivation.soon"]
    assert token(http, target)  # still works before the date
    clock.advance(3 * DAY)
    headers = bearer(token(http, admin))
    run(http, purge)
    client = http.get(f"{CLIENTS}/{target.id}", headers=headers).json()
    assert client["state"] == "inactive"
    assert http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     auth=target.basic_auth).status_code in (400, 401)
    assert "deactivation.done" in _kinds(http, owner)
    assert http.get(f"{PLANS}/{target.id}", headers=headers).status_code == 404
    # After the retention period the scheduled deletion removes it.
    clock.advance(15 * DAY + 1)
    headers = bearer(token(http, admin))
    run(http, purge)
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404
    actions = [e["action"] for e in audit_events(http, headers, entity_id=target.id)]
    assert {"deactivation.schedule", "deactivation.complete", "delete"} <= set(actions)


def test_deactivation_reschedule_and_cancel_are_audited(
        http: TestClient, headers: dict[str, str], target: Registered, owner: Person,
        clock: ManualClock) -> None:
    assert _plan(http, headers, target.id, deactivateAt=_at(clock, 10),
                 reason="retired").status_code == 200
    assert _plan(http, headers, target.id, deactivateAt=_at(clock, 20),
                 reason="retired").status_code == 200
    assert http.delete(f"{PLANS}/{target.id}", headers=headers).status_code == 204
    assert http.delete(f"{PLANS}/{target.id}", headers=headers).status_code == 404
    actions = sorted(e["action"] for e in audit_events(http, headers, entity_id=target.id)
                     if e["action"].startswith("deactivation."))
    assert actions == ["deactivation.cancel", "deactivation.reschedule",
                       "deactivation.schedule"]
    [reschedule] = audit_events(http, headers, entity_id=target.id,
                                action="deactivation.reschedule")
    assert [p["property"] for p in reschedule["propertyChanges"]] == ["deactivateAt"]
    clock.advance(30 * DAY)
    run(http, purge)
    assert _kinds(http, owner) == ["deactivation.cancelled", "deactivation.scheduled",
                                   "deactivation.scheduled"]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"deactivateAt": "2020-01-01T00:00:00Z", "reason": "old"}, "deactivateAt",
                 id="past-date"),
    pytest.param({"deactivateAt": "2999-01-01T00:00:00", "reason": "old"}, "deactivateAt",
                 id="no-time-zone"),
    pytest.param({"deactivateAt": "2999-01-01T00:00:00Z", "reason": " "}, "reason",
                 id="no-reason"),
    pytest.param({"deactivateAt": "2999-01-01T00:00:00Z", "reason": "r",
                  "replacementClientId": "00000000-0000-4000-8000-000000000000"},
                 "replacementClientId", id="unknown-replacement"),
])
def test_deactivation_plan_refuses_bad_input_naming_the_field(
        http: TestClient, headers: dict[str, str], target: Registered, body: dict[str, str],
        field: str) -> None:
    refused = _plan(http, headers, target.id, **body)
    assert refused.status_code == 400
    assert field in refused.text
    assert http.get(f"{PLANS}/{target.id}", headers=headers).status_code == 404


def test_deactivation_plan_needs_the_edit_permission_and_scope(
        http: TestClient, target: Registered, clock: ManualClock) -> None:
    reader = bootstrap(http, name="reader", roles=["Super Admin"], scopes=["oauth:readonly"])
    refused = _plan(http, bearer(token(http, reader)), target.id,
                    deactivateAt=_at(clock, 5), reason="x")
    assert refused.status_code == 403


def test_deactivation_plan_token_responses_carry_deprecation_and_sunset(
        http: TestClient, headers: dict[str, str], target: Registered,
        clock: ManualClock) -> None:
    form = {"grant_type": "client_credentials"}
    before = http.post("/oauth/token", data=form, auth=target.basic_auth)
    assert "sunset" not in before.headers
    assert "deprecation" not in before.headers
    planned_at = clock.now
    when = planned_at + timedelta(days=10)
    assert _plan(http, headers, target.id, deactivateAt=when.isoformat(),
                 reason="replaced").status_code == 200
    answered = http.post("/oauth/token", data=form, auth=target.basic_auth)
    assert answered.status_code == 200
    assert answered.headers["deprecation"] == f"@{int(planned_at.timestamp())}"
    assert answered.headers["sunset"] == format_datetime(when, usegmt=True)
    assert http.delete(f"{PLANS}/{target.id}", headers=headers).status_code == 204
    assert "sunset" not in http.post("/oauth/token", data=form,
                                     auth=target.basic_auth).headers
