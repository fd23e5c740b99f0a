"""/api/v2/governance/findings: each kind the stores can show fires with its evidence, a fix
is one audited call under the admin's name, and the finding resolves itself once fixed."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from keystead.domain.clients import Environment
from tests.people import create_user
from tests.support.clients import (
    CLIENTS,
    Registered,
    bootstrap,
    code_body,
    create_client,
    set_state,
)
from tests.support.clock import ManualClock
from tests.support.findings import DAY, FINDINGS, change_client, evaluate, findings_of, make_role
from tests.support.management import audit_events
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows


def reader(http: TestClient, headers: dict[str, str], **fields: object) -> Registered:
    """A service client holding only a view role: no finding about its privileges."""
    make_role(http, headers, "Reader", ["oauth:client:view"])
    return bootstrap(http, name="reader svc", roles=["Reader"], scopes=["oauth:readonly"],
                     **fields)


def test_findings_the_bootstrap_admin_is_over_privileged_and_owned_by_nobody(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    found = findings_of(http, headers, admin.id)  # evaluated when it was created
    assert evaluate(http, headers) == {"clientsEvaluated": 1, "opened": 0, "resolved": 0}
    privileged = found["over-privileged"]
    assert privileged["severity"] == "critical"
    assert privileged["evidence"]["administrativeRoles"] == ["Super Admin"]
    assert privileged["clientName"] == "test admin"
    assert privileged["state"] == "active"
    assert privileged["remedy"]["available"] is False
    assert found["no-owner"]["severity"] == "low"
    assert privileged["firstSeen"] == privileged["lastSeen"]


def test_findings_token_duration_fixed_in_one_step_under_the_admins_name(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    svc = reader(http, headers, accessTokenValiditySeconds=90_000)
    evaluate(http, headers)
    finding = findings_of(http, headers, svc.id)["token-duration-above-policy"]
    assert finding["evidence"] == {"tokenDurationSeconds": 90_000, "policyMaxSeconds": 86_400,
                                   "grantType": "CLIENT-CREDENTIALS"}
    fixed = http.post(f"{FINDINGS}/{finding['id']}/remedy", headers=headers)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["state"] == "resolved"
    client = http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()
    assert client["accessTokenValiditySeconds"] == 86_400
    change = audit_events(http, headers, entity_id=svc.id, action="update")[-1]
    assert change["client"] == {"id": admin.id}
    assert change["context"]["actorName"] == "test admin"
    assert {"property": "accessTokenValiditySeconds", "oldValues": ["90000"],
            "newValues": ["86400"]} in change["propertyChanges"]
    assert audit_events(http, headers, entity_id=finding["id"], action="remedy")[0][
        "client"] == {"id": admin.id}


def test_findings_secret_rotation_due_resolves_once_regenerated(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    svc = reader(http, bearer(token(http, admin)))
    clock.advance(31 * DAY)
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    due = findings_of(http, headers, svc.id)["secret-rotation-due"]
    assert due["evidence"]["ageDays"] == 31
    assert due["evidence"]["maxAgeDays"] == 30
    refused = http.post(f"{FINDINGS}/{due['id']}/remedy", headers=headers)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["fieldName"] == "remedy"
    assert "Regenerate" in due["remedy"]["description"]
    assert http.post(f"{CLIENTS}/{svc.id}/secret", headers=headers, json={}).status_code == 200
    # Evaluated again at once: a change to a client re-evaluates it.
    assert http.get(f"{FINDINGS}/{due['id']}", headers=headers).json()["state"] == "resolved"


def test_findings_unused_client_disabled_in_one_step_and_back_when_enabled_again(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    svc = reader(http, bearer(token(http, admin)))
    clock.advance(91 * DAY)
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    found = findings_of(http, headers, svc.id)
    unused = found["unused-client"]
    assert unused["evidence"]["tokensInWindow"] == 0
    assert unused["evidence"]["lookbackDays"] == 90
    assert "unused-client" not in findings_of(http, headers, admin.id)  # it just got a token
    fixed = http.post(f"{FINDINGS}/{unused['id']}/remedy", headers=headers)
    assert fixed.json()["state"] == "resolved"
    assert http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()["state"] == "disabled"
    set_state(http, headers, svc.id, "active")  # evaluated again at once
    again = findings_of(http, headers, svc.id)["unused-client"]
    assert (again["id"], again["state"]) == (unused["id"], "active")
    assert again["firstSeen"] == unused["firstSeen"]


def test_findings_previous_secret_used_late_in_its_window_then_expired(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    svc = reader(http, bearer(token(http, admin)))
    rotated = http.post(f"{CLIENTS}/{svc.id}/secret", headers=bearer(token(http, admin)),
                        json={"dualUseSeconds": 7 * DAY})
    assert rotated.status_code == 200, rotated.text
    clock.advance(6 * DAY)
    token(http, svc)  # the application still sends the previous secret
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    late = findings_of(http, headers, svc.id)["previous-secret-in-use"]
    assert late["severity"] == "high"
    assert late["evidence"]["previousLastUsed"]
    fixed = http.post(f"{FINDINGS}/{late['id']}/remedy", headers=headers)
    assert fixed.json()["state"] == "resolved"
    form = {"grant_type": "client_credentials"}
    assert http.post("/oauth/token", data=form, auth=svc.basic_auth).status_code == 401


def test_findings_dev_redirect_uris_on_a_production_client_removed(
        http: TestClient, headers: dict[str, str]) -> None:
    app = create_client(http, headers, code_body(registeredRedirectUri=[
        "https://app.example.com/cb", "http://localhost:8080/cb"]))
    evaluate(http, headers)
    assert "dev-redirect-uri-in-production" not in findings_of(http, headers, app.id)
    change_client(http, app.id, environment=Environment.production)
    evaluate(http, headers)
    dev = findings_of(http, headers, app.id)["dev-redirect-uri-in-production"]
    assert dev["evidence"]["redirectUris"] == ["http://localhost:8080/cb"]
    assert http.post(f"{FINDINGS}/{dev['id']}/remedy", headers=headers).status_code == 200
    client = http.get(f"{CLIENTS}/{app.id}", headers=headers).json()
    assert client["registeredRedirectUri"] == ["https://app.example.com/cb"]


def test_findings_a_client_whose_owner_is_deleted_is_orphaned(
        http: TestClient, headers: dict[str, str]) -> None:
    app = create_client(http, headers, code_body())
    user = http.post("/api/v2/users", headers=headers,
                     json={"name": "Ada", "email": "ada@example.com"})
    assert user.status_code == 200, user.text
    change_client(http, app.id, owner_id=user.json()["id"])
    evaluate(http, headers)
    active = findings_of(http, headers, app.id, state="active")
    assert not {"no-owner", "orphaned"} & set(active)
    assert http.delete(f"/api/v2/users/{user.json()['id']}", headers=headers).status_code == 204
    evaluate(http, headers)
    orphaned = findings_of(http, headers, app.id)["orphaned"]
    assert orphaned["evidence"]["ownerStatus"] == "deleted"
    assert orphaned["severity"] == "high"
    heir = http.post("/api/v2/users", headers=headers,
                     json={"name": "Grace", "email": "grace@example.com"})
    change_client(http, app.id, owner_id=heir.json()["id"])  # evaluated again at once
    assert findings_of(http, headers, app.id)["orphaned"]["state"] == "resolved"


def test_findings_archive_needs_a_reason_is_audited_and_can_be_undone(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    evaluate(http, headers)
    finding = findings_of(http, headers, admin.id)["over-privileged"]
    url = f"{FINDINGS}/{finding['id']}"
    refused = http.post(f"{url}/archive", headers=headers, json={"reason": "  "})
    assert refused.status_code == 400
    assert refused.json()["details"] == [{"errorCode": "required", "fieldName": "reason"}]
    archived = http.post(f"{url}/archive", headers=headers,
                         json={"reason": "the bootstrap admin, kept in the vault"})
    assert archived.status_code == 200, archived.text
    assert archived.json()["state"] == "archived"
    assert archived.json()["archived"]["reason"] == "the bootstrap admin, kept in the vault"
    entry = audit_events(http, headers, entity_id=finding["id"], action="archive")[0]
    assert entry["context"]["reason"] == "the bootstrap admin, kept in the vault"
    evaluate(http, headers)  # still over-privileged: it stays archived
    assert http.get(url, headers=headers).json()["state"] == "archived"
    assert findings_of(http, headers, admin.id, state="archived").keys() == {"over-privileged"}
    restored = http.post(f"{url}/unarchive", headers=headers)
    assert restored.json()["state"] == "active"
    assert audit_events(http, headers, entity_id=finding["id"], action="unarchive")
    assert http.post(f"{url}/unarchive", headers=headers).status_code == 400


def test_findings_refused_without_the_permissions_of_the_change(
        http: TestClient, headers: dict[str, str]) -> None:
    svc = reader(http, headers, accessTokenValiditySeconds=90_000)
    evaluate(http, headers)
    finding = findings_of(http, headers, svc.id)["token-duration-above-policy"]
    make_role(http, headers, "Finding Viewer", ["governance:finding:view"])
    make_role(http, headers, "Finding Editor", ["governance:finding:*"])
    scopes = ["governance", "governance:readonly"]
    viewer = bearer(token(http, bootstrap(http, name="viewer", roles=["Finding Viewer"],
                                          scopes=scopes)))
    editor = bearer(token(http, bootstrap(http, name="editor", roles=["Finding Editor"],
                                          scopes=scopes)))
    url = f"{FINDINGS}/{finding['id']}"
    assert http.get(url, headers=viewer).status_code == 200
    assert http.post(f"{url}/archive", headers=viewer, json={"reason": "x"}).status_code == 403
    assert http.post(f"{url}/remedy", headers=viewer).status_code == 403
    no_edit = http.post(f"{url}/remedy", headers=editor)
    assert no_edit.status_code == 403
    assert "oauth:client:edit" in no_edit.json()["message"]
    assert http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()[
        "accessTokenValiditySeconds"] == 90_000
    read_only = bearer(token(http, bootstrap(http, name="ro", roles=["Finding Editor"],
                                             scopes=["governance:readonly"])))
    assert http.post(f"{FINDINGS}/evaluate", headers=read_only).status_code == 403


def test_findings_filters_and_bad_input(http: TestClient, headers: dict[str, str]) -> None:
    evaluate(http, headers)
    by_kind = http.get(FINDINGS, headers=headers, params={"kind": "no-owner"}).json()
    assert {f["kind"] for f in by_kind["entities"]} == {"no-owner"}
    assert by_kind["total"] == 1
    assert http.get(FINDINGS, headers=headers, params={"state": "resolved"}).json()[
        "total"] == 0
    unknown = http.get(FINDINGS, headers=headers, params={"kind": "unused-cat"})
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["fieldName"] == "kind"
    assert "unused-client" in unknown.json()["message"]
    assert http.get(FINDINGS, headers=headers, params={"state": "open"}).status_code == 400
    assert http.get(f"{FINDINGS}/no-such-finding", headers=headers).status_code == 404
    assert http.post(f"{FINDINGS}/evaluate", headers=headers,
                     json={"clientId": "no-such-client"}).status_code == 404
    assert http.post(f"{FINDINGS}/evaluate", headers=headers,
                     json={"clientIds": []}).status_code == 400
    assert http.get(FINDINGS).status_code == 401


def test_findings_unused_scope_and_role_from_the_recorded_evidence(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    headers = bearer(token(http, admin))
    make_role(http, headers, "Reader", ["oauth:client:view"])
    auditor = make_role(http, headers, "Auditor", ["audits:audit:view"])
    svc = bootstrap(http, name="sync", roles=["Reader", "Auditor"],
                    scopes=["oauth:readonly", "audits:readonly"])
    clock.advance(91 * DAY)  # older than the window: judged on what it did in it
    used = bearer(token(http, svc, scope="oauth:readonly"))
    assert http.get(CLIENTS, headers=used).status_code == 200  # exercises oauth:client:view
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    found = findings_of(http, headers, svc.id, state="active")
    scope = found["unused-scope/audits:readonly"]
    assert scope["evidence"]["scopesGranted"] == ["oauth:readonly"]
    assert scope["evidence"]["tokensInWindow"] == 1
    role = found[f"unused-role/{auditor}"]
    assert role["evidence"]["permissionsExercised"] == ["oauth:client:view"]
    assert "unused-client" not in found
    assert not any(key.startswith("unused-role/") and key != f"unused-role/{auditor}"
                   for key in found)
    for finding in (scope, role):
        fixed = http.post(f"{FINDINGS}/{finding['id']}/remedy", headers=headers)
        assert fixed.json()["state"] == "resolved", fixed.text
    client = http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()
    assert client["scope"] == ["oauth:readonly"]
    assert auditor not in {r["roleId"] for r in client["roleDivisions"]}
    assert len(client["roleDivisions"]) == 1  # the Reader role stays


def test_findings_review_overdue_and_campaigns_that_select_by_finding(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    clock.advance(91 * DAY)  # past the policy's 90-day review period, never reviewed
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    overdue = findings_of(http, headers, admin.id)["review-overdue"]
    assert overdue["evidence"]["reviewPeriodDays"] == 90
    assert overdue["evidence"]["lastReviewed"] is None
    reviewer = http.post("/api/v2/users", headers=headers,
                         json={"name": "Rita", "email": "rita@example.com"}).json()["id"]
    due = (clock.now + timedelta(days=7)).date().isoformat()
    campaign = http.post("/api/v2/governance/reviews", headers=headers, json={
        "name": "Overdue ones", "dueDate": due, "selection": {"findingKind": "review-overdue"},
        "fallbackReviewerId": reviewer})
    assert campaign.status_code == 200, campaign.text
    items = http.get(f"/api/v2/governance/reviews/{campaign.json()['id']}",
                     headers=headers).json()["items"]
    assert [i["client"]["id"] for i in items] == [admin.id]
    decided = http.post(f"/api/v2/governance/reviews/{campaign.json()['id']}/items/"
                        f"{items[0]['id']}/decision", headers=headers,
                        json={"decision": "keep", "comment": "the break-glass admin"})
    assert decided.status_code == 200, decided.text
    evaluate(http, headers)
    assert findings_of(http, headers, admin.id)["review-overdue"]["state"] == "resolved"


def test_findings_worth_telling_reach_the_owner_once(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    headers = bearer(token(http, admin))
    owner = create_user(http, "olive@example.com", name="Olive Owner")
    svc = reader(http, headers, owner={"id": owner.id})
    clock.advance(31 * DAY)
    headers = bearer(token(http, admin))
    evaluate(http, headers)
    evaluate(http, headers)  # still due: no second notice

    told = [n for n in rows(http, "SELECT recipient_id, kind, subject, body FROM notices "
                                  "ORDER BY created_at") if n["recipient_id"] == owner.id]

    assert [n["kind"] for n in told] == ["secret.rotation.due"]
    assert "reader svc" in told[0]["subject"]
    assert svc.secret not in told[0]["body"]
