"""Planned deactivation over the API, on the manual clock: the plan is validated and audited,
token responses carry Deprecation and Sunset until the date, the owner's reminder comes
``deactivationNoticeDays`` before it, the client is disabled on the date and deleted once the
retention has passed; reschedule and cancel are audited; a caller who may not edit is refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.web.app import housekeeping
from tests.people import create_user
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows

PLANS = "/api/v2/governance/deactivations"
CC = {"grant_type": "client_credentials"}
DAY = 86_400


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def admin_headers(http: TestClient, admin: Registered) -> dict[str, str]:
    return bearer(token(http, admin))


@pytest.fixture
def legacy(http: TestClient, admin_headers: dict[str, str]) -> Registered:
    """The client to retire: a service (holding what the admin holds)."""
    return create_client(http, admin_headers, client_body(
        role_id(http, admin_headers, "Super Admin"), name="legacy billing"))


def plan(http: TestClient, headers: dict[str, str], client_id: str, when: datetime,
         **fields: Any) -> httpx2.Response:
    return http.post(PLANS, headers=headers, json={
        "clientId": client_id, "date": stamp(when), "reason": "replaced by billing v2"} | fields)


def problems(response: httpx2.Response) -> set[str]:
    assert response.status_code == 400, response.text
    return {d["fieldName"] for d in response.json()["details"]}


def test_deactivation_plan_adds_deprecation_and_sunset_to_token_responses(
        http: TestClient, clock: ManualClock, admin: Registered,
        admin_headers: dict[str, str], legacy: Registered) -> None:
    successor = create_client(http, admin_headers, client_body(
        role_id(http, admin_headers, "Super Admin"), name="billing v2"))
    date = clock.now + timedelta(days=30)
    before = http.post("/oauth/token", data=CC, auth=legacy.basic_auth)
    assert "sunset" not in before.headers

    created = plan(http, admin_headers, legacy.id, date, replacementClientId=successor.id)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "scheduled"
    assert body["client"]["name"] == "legacy billing"
    assert body["replacementClient"]["name"] == "billing v2"
    assert body["reminderDate"].startswith((date - timedelta(days=14)).date().isoformat())
    assert body["deletionDate"].startswith((date + timedelta(days=15)).date().isoformat())
    answer = http.post("/oauth/token", data=CC, auth=legacy.basic_auth)
    assert answer.status_code == 200
    assert answer.headers["sunset"] == format_datetime(date, usegmt=True)
    assert answer.headers["deprecation"] == f"@{int(clock.now.timestamp())}"
    other = http.post("/oauth/token", data=CC, auth=successor.basic_auth)
    assert "deprecation" not in other.headers
    [entry] = audit_events(http, admin_headers, entity_id=legacy.id,
                           action="deactivation.schedule")
    assert entry["context"]["actorId"] == admin.id


def test_deactivation_runs_its_course_on_the_clock(
        http: TestClient, clock: ManualClock, admin: Registered,
        admin_headers: dict[str, str], legacy: Registered) -> None:
    date = clock.now + timedelta(days=20)
    assert plan(http, admin_headers, legacy.id, date).status_code == 201

    clock.advance(5 * DAY)  # 15 days to go: no reminder yet (14 by default)
    run(http, housekeeping)
    headers = bearer(token(http, admin))
    assert http.get(f"{PLANS}/{legacy.id}", headers=headers).json()["dateReminded"] is None

    clock.advance(DAY + 1)
    run(http, housekeeping)
    headers = bearer(token(http, admin))
    assert http.get(f"{PLANS}/{legacy.id}", headers=headers).json()["dateReminded"]
    assert http.post("/oauth/token", data=CC, auth=legacy.basic_auth).status_code == 200

    clock.advance(14 * DAY)  # the date
    run(http, housekeeping)
    headers = bearer(token(http, admin))
    assert http.get(f"{CLIENTS}/{legacy.id}", headers=headers).json()["state"] == "disabled"
    assert http.get(f"{PLANS}/{legacy.id}", headers=headers).json()["state"] == "disabled"
    assert http.post("/oauth/token", data=CC, auth=legacy.basic_auth).status_code == 401

    clock.advance(15 * DAY)  # the retention has passed
    run(http, housekeeping)
    headers = bearer(token(http, admin))
    assert http.get(f"{CLIENTS}/{legacy.id}", headers=headers).status_code == 404
    assert http.get(f"{PLANS}/{legacy.id}", headers=headers).status_code == 404
    events = audit_events(http, headers, entity_id=legacy.id)
    actions = [e["action"] for e in events]
    assert actions[:2] == ["delete", "deactivation.delete"]
    assert {"state.change", "deactivation.schedule"} <= set(actions)
    assert {e["context"]["actorKind"] for e in events if e["action"] in (
        "delete", "state.change")} == {"system"}


def test_deactivation_owner_is_told_at_each_step(
        http: TestClient, clock: ManualClock, admin_headers: dict[str, str]) -> None:
    owner = create_user(http, "owner@example.com", name="Olive Owner")
    owned = create_client(http, admin_headers, client_body(
        role_id(http, admin_headers, "Super Admin"), name="owned billing",
        owner={"id": owner.id}))
    assert plan(http, admin_headers, owned.id, clock.now + timedelta(days=20)).status_code == 201
    clock.advance(6 * DAY + 1)
    run(http, housekeeping)  # the reminder
    clock.advance(14 * DAY)
    run(http, housekeeping)  # the date

    told = [n for n in rows(http, "SELECT recipient_id, kind, subject, body FROM notices "
                                  "ORDER BY created_at")
            if n["recipient_id"] == owner.id and n["kind"].startswith("deactivation.")]

    assert [n["kind"] for n in told] == ["deactivation.scheduled", "deactivation.soon",
                                         "deactivation.done"]
    assert all("owned billing" in n["subject"] for n in told)
    assert "replaced by billing v2" in told[0]["body"]


def test_deactivation_reschedule_and_cancel_are_audited(
        http: TestClient, clock: ManualClock, admin_headers: dict[str, str],
        legacy: Registered) -> None:
    date = clock.now + timedelta(days=30)
    assert plan(http, admin_headers, legacy.id, date).status_code == 201
    later = date + timedelta(days=10)

    moved = http.put(f"{PLANS}/{legacy.id}", headers=admin_headers, json={
        "date": stamp(later), "reason": "replaced by billing v2"})

    assert moved.status_code == 200, moved.text
    answer = http.post("/oauth/token", data=CC, auth=legacy.basic_auth)
    assert answer.headers["sunset"] == format_datetime(later, usegmt=True)
    [entry] = audit_events(http, admin_headers, entity_id=legacy.id,
                           action="deactivation.reschedule")
    changed = {c["property"]: c for c in entry["propertyChanges"]}
    assert changed["date"]["newValues"] == [later.isoformat()]
    assert set(changed) == {"date", "reminderAt", "deletionAt"}

    assert http.delete(f"{PLANS}/{legacy.id}", headers=admin_headers).status_code == 204
    assert "sunset" not in http.post("/oauth/token", data=CC,
                                     auth=legacy.basic_auth).headers
    assert audit_events(http, admin_headers, entity_id=legacy.id, action="deactivation.cancel")
    assert http.delete(f"{PLANS}/{legacy.id}", headers=admin_headers).status_code == 404


def test_deactivation_bad_input_is_refused_naming_the_field(
        http: TestClient, clock: ManualClock, admin_headers: dict[str, str],
        legacy: Registered) -> None:
    assert problems(plan(http, admin_headers, legacy.id, clock.now - timedelta(hours=1))) == {
        "date"}
    assert problems(plan(http, admin_headers, legacy.id, clock.now + timedelta(days=1),
                         reason="  ")) == {"reason"}
    assert problems(plan(http, admin_headers, legacy.id, clock.now + timedelta(days=1),
                         replacementClientId=legacy.id)) == {"replacementClientId"}
    assert problems(plan(http, admin_headers, legacy.id, clock.now + timedelta(days=1),
                         replacementClientId="00000000-0000-4000-8000-000000000000")) == {
        "replacementClientId"}
    assert http.post(PLANS, headers=admin_headers, json={"clientId": legacy.id}).status_code \
        == 400
    unknown = plan(http, admin_headers, "00000000-0000-4000-8000-000000000000",
                   clock.now + timedelta(days=1))
    assert unknown.status_code == 404
    assert plan(http, admin_headers, legacy.id, clock.now + timedelta(days=9)).status_code == 201
    again = plan(http, admin_headers, legacy.id, clock.now + timedelta(days=9))
    assert again.status_code == 409
    assert http.get(f"{PLANS}", headers=admin_headers).json()["total"] == 1


@pytest.mark.parametrize("date", [
    pytest.param("0001-01-01T00:01:01+01:00", id="before-year-1-in-utc"),
    pytest.param("9999-12-31T23:59:59-14:00", id="after-year-9999-in-utc"),
])
def test_deactivation_date_out_of_range_is_refused_not_a_500(
        http: TestClient, admin_headers: dict[str, str], legacy: Registered, date: str) -> None:
    # Found by schemathesis: the UTC conversion overflowed into a 500.
    body = {"clientId": legacy.id, "date": date, "reason": "r"}
    assert problems(http.post(PLANS, headers=admin_headers, json=body)) == {"date"}
    assert problems(http.put(f"{PLANS}/{legacy.id}", headers=admin_headers, json=body)) == {
        "date"}


def test_deactivation_refused_to_a_caller_who_may_not_edit_clients(
        http: TestClient, clock: ManualClock, admin_headers: dict[str, str],
        legacy: Registered) -> None:
    made = http.post("/api/v2/authorization/roles", headers=admin_headers, json={
        "name": "client viewer", "permissions": ["oauth:client:view"]})
    assert made.status_code == 200, made.text
    viewer = bootstrap(http, name="viewer", roles=["client viewer"])
    headers = bearer(token(http, viewer))

    refused = plan(http, headers, legacy.id, clock.now + timedelta(days=3))

    assert refused.status_code == 403
    assert http.get(PLANS, headers=headers).status_code == 200
    assert http.get(PLANS, headers=admin_headers).json()["total"] == 0
    readonly = bearer(token(http, viewer, scope="oauth:readonly"))
    assert http.get(PLANS, headers=readonly).status_code == 403  # lacks governance:readonly
