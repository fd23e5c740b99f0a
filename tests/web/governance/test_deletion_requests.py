"""Deletion with approval (issue 12 §6): with the policy on, DELETE files a request that a
second admin approves or rejects; requests expire; every step is audited and notified."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from keystead.web.app import housekeeping
from tests.people import create_user
from tests.support.apps import run
from tests.support.clients import Registered, bootstrap, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.tokens import bearer, token
from tests.web.governance.support import (
    CLIENTS,
    REQUESTS,
    rows,
    set_owner,
    set_policy,
)

DAY = 86_400


def _target(http: TestClient, headers: dict[str, str], super_admin: str) -> Registered:
    return create_client(http, headers, client_body(super_admin, name="billing service"))


def _second_admin(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="second admin", roles=["Super Admin"])))


def _request(http: TestClient, headers: dict[str, str], client_id: str) -> dict[str, Any]:
    response = http.delete(f"{CLIENTS}/{client_id}", headers=headers)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_deletion_without_approval_policy_deletes_at_once(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    target = _target(http, headers, super_admin)
    assert http.delete(f"{CLIENTS}/{target.id}", headers=headers).status_code == 204
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404


def test_deletion_with_approval_policy_answers_202_and_the_client_stays(
        http: TestClient, headers: dict[str, str], super_admin: str, admin: Registered,
        clock: ManualClock) -> None:
    set_policy(http, deletion_approval=True, deletion_request_ttl_days=3)
    target = _target(http, headers, super_admin)
    response = http.delete(f"{CLIENTS}/{target.id}", headers=headers)
    assert response.status_code == 202
    body = response.json()
    assert (body["clientId"], body["state"], body["requestedBy"]["id"]) == (
        target.id, "pending", admin.id)
    expected = clock.now + timedelta(days=3)
    assert body["expiresAt"].startswith(expected.strftime("%Y-%m-%dT%H:%M:%S"))
    assert response.headers["location"] == f"{REQUESTS}/{body['id']}"
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    # The client still gets tokens: nothing happens until a second admin approves.
    assert token(http, target)


def test_deletion_request_expires_after_the_policy_ttl(
        http: TestClient, headers: dict[str, str], super_admin: str, admin: Registered,
        clock: ManualClock) -> None:
    set_policy(http, deletion_approval=True, deletion_request_ttl_days=3)
    target = _target(http, headers, super_admin)
    filed = _request(http, headers, target.id)
    clock.advance(3 * DAY)
    headers = bearer(token(http, admin))  # the first token expired meanwhile
    approved = http.post(f"{REQUESTS}/{filed['id']}/approve", headers=_second_admin(http))
    assert approved.status_code == 409
    assert "expired" in approved.json()["message"]
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    listed = http.get(REQUESTS, params={"state": "expired"}, headers=headers).json()
    assert [r["id"] for r in listed["entities"]] == [filed["id"]]
    # Deleting again files a fresh request.
    assert _request(http, headers, target.id)["id"] != filed["id"]


def test_deletion_second_request_returns_the_pending_one(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    first = _request(http, headers, target.id)
    again = _request(http, _second_admin(http), target.id)
    assert again["id"] == first["id"]
    assert http.get(REQUESTS, params={"clientId": target.id},
                    headers=headers).json()["total"] == 1


def test_deletion_requester_cannot_approve_their_own_request(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    filed = _request(http, headers, target.id)
    refused = http.post(f"{REQUESTS}/{filed['id']}/approve", headers=headers)
    assert refused.status_code == 403
    assert "second admin" in refused.json()["message"]
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    assert http.get(f"{REQUESTS}/{filed['id']}", headers=headers).json()["state"] == "pending"


def test_deletion_approval_needs_the_governance_scope(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    filed = _request(http, headers, target.id)
    # A token without the governance scope cannot decide, whatever its client's roles.
    reader = bootstrap(http, name="reader", roles=["Super Admin"], scopes=["oauth:readonly"])
    refused = http.post(f"{REQUESTS}/{filed['id']}/approve",
                        headers=bearer(token(http, reader)))
    assert refused.status_code == 403
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200


def test_deletion_second_admin_approves_and_the_client_is_deleted_audited(
        http: TestClient, headers: dict[str, str], super_admin: str, admin: Registered) -> None:
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    filed = _request(http, headers, target.id)
    second = _second_admin(http)
    approved = http.post(f"{REQUESTS}/{filed['id']}/approve", headers=second)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["state"], approved.json()["requestedBy"]["id"]) == (
        "approved", admin.id)
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404
    assert http.post(f"{REQUESTS}/{filed['id']}/approve", headers=second).status_code == 409
    on_client = [e["action"] for e in audit_events(http, headers, entity_id=target.id)]
    assert {"deletion.request", "delete"} <= set(on_client)
    on_request = [e["action"] for e in audit_events(http, headers, entity_id=filed["id"])]
    assert sorted(on_request) == ["deletion.approve", "deletion.request"]


def test_deletion_rejected_with_a_reason_keeps_the_client(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    filed = _request(http, headers, target.id)
    second = _second_admin(http)
    no_reason = http.post(f"{REQUESTS}/{filed['id']}/reject", json={"reason": " "},
                          headers=second)
    assert no_reason.status_code == 400
    assert "reason" in no_reason.text
    rejected = http.post(f"{REQUESTS}/{filed['id']}/reject",
                         json={"reason": "still used by payroll"}, headers=second)
    assert rejected.status_code == 200
    assert (rejected.json()["state"], rejected.json()["reason"]) == (
        "rejected", "still used by payroll")
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    [entry] = audit_events(http, headers, entity_id=filed["id"], action="deletion.reject")
    assert entry["context"]["reason"] == "still used by payroll"


def test_deletion_request_notifies_owner_and_approvers_but_not_the_requester(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, deletion_approval=True)
    owner = create_user(http, "owner@example.com")
    approver = create_user(http, "approver@example.com", roles=("OAuth Admin",))
    bystander = create_user(http, "bystander@example.com")
    target = _target(http, headers, super_admin)
    set_owner(http, target.id, owner.id)
    _request(http, headers, target.id)
    got = {r["recipient_id"]: r for r in rows(http, "SELECT * FROM notices")}
    assert owner.id in got
    assert approver.id in got
    assert bystander.id not in got
    assert got[owner.id]["kind"] == "deletion.requested"
    assert "billing service" in got[owner.id]["subject"]
    mails = [json.loads(m["payload"]) if isinstance(m["payload"], str) else m["payload"]
             for m in rows(http, "SELECT payload FROM outbox")]
    # (The new client's critical finding told the approver too: only the deletion's mails.)
    assert sorted(m["to"] for m in mails if m["subject"].startswith("Deletion")) == [
        "approver@example.com", "owner@example.com"]


def test_deletion_scheduled_by_date_waits_for_a_second_admin_under_the_policy(
        http: TestClient, super_admin: str, admin: Registered, clock: ManualClock) -> None:
    headers = bearer(token(http, admin))
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    when = (clock.now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = http.put(f"{CLIENTS}/{target.id}", headers=headers, json=client_body(
        super_admin, name="billing service", state="inactive", dateToDelete=when))
    assert scheduled.status_code == 200, scheduled.text

    clock.advance(DAY + 1)
    run(http, housekeeping)
    run(http, housekeeping)  # one request, however many rounds pass
    headers = bearer(token(http, admin))

    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    [request] = http.get(REQUESTS, headers=headers, params={"clientId": target.id}).json()[
        "entities"]
    assert (request["state"], request["requestedBy"]["id"]) == ("pending", admin.id)
    own = http.post(f"{REQUESTS}/{request['id']}/approve", headers=headers)
    assert own.status_code == 403  # whoever scheduled it cannot approve it
    approved = http.post(f"{REQUESTS}/{request['id']}/approve", headers=_second_admin(http))
    assert approved.status_code == 200, approved.text
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404


def test_deletion_ending_a_planned_deactivation_waits_for_a_second_admin(
        http: TestClient, super_admin: str, admin: Registered, clock: ManualClock) -> None:
    headers = bearer(token(http, admin))
    set_policy(http, deletion_approval=True)
    target = _target(http, headers, super_admin)
    planned = http.post("/api/v2/governance/deactivations", headers=headers, json={
        "clientId": target.id, "reason": "replaced",
        "date": (clock.now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert planned.status_code == 201, planned.text

    clock.advance(DAY + 1)
    run(http, housekeeping)  # disabled on its date
    clock.advance(15 * DAY)
    run(http, housekeeping)  # the retention passed: a request, not a deletion
    headers = bearer(token(http, admin))

    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).json()["state"] == "disabled"
    [request] = http.get(REQUESTS, headers=headers, params={"clientId": target.id}).json()[
        "entities"]
    assert request["requestedBy"]["id"] == admin.id
    rejected = http.post(f"{REQUESTS}/{request['id']}/reject", headers=_second_admin(http),
                         json={"reason": "keep it for the audit"})
    assert rejected.status_code == 200, rejected.text
    clock.advance(DAY)
    run(http, housekeeping)  # the decision stands: no new request, no deletion
    headers = bearer(token(http, admin))
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
    assert len(http.get(REQUESTS, headers=headers, params={"clientId": target.id}).json()[
        "entities"]) == 1
