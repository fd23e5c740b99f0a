"""Access reviews over the API: a campaign from start to report and close; each decision does
what it says (keep attests, reduce removes scopes and roles as an audited change, retire stops
the client); the rules refuse with a clear 400, 403 or 404; and on the manual clock the due
date reminds, escalates, disables unreviewed clients (when the policy says so) and closes."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import ClientState, Environment
from keystead.domain.governance.policy import Policy, UnreviewedAction
from keystead.domain.principal import operator
from keystead.store.policy import SqlPolicyStore
from keystead.web.runtime import Runtime
from tests.people import create_user
from tests.support.apps import run
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id
from tests.support.reviews import (
    REVIEWS,
    attend,
    client_of,
    due_in,
    governed_client,
    items_by_client,
    start,
    state_of,
)
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows

DAY = 86_400


@pytest.fixture
def fallback(http: TestClient) -> str:
    return create_user(http, "fallback@example.com", name="Fallback Reviewer").id


def set_policy(http: TestClient, **changes: object) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            store = SqlPolicyStore(conn)
            await store.save(replace(await store.find(), **changes),  # type: ignore[arg-type]
                             actor=operator().actor, now=runtime.clock())

    run(http, work)


def test_campaign_start_decide_report_close(http: TestClient, headers: dict[str, str],
                                            admin: Registered, clock: ManualClock,
                                            fallback: str) -> None:
    keep = governed_client(http, "=HYPERLINK(\"http://evil\")", tags=("payments",))
    reduce = governed_client(http, "reporting", tags=("payments",))
    retire = governed_client(http, "legacy batch", tags=("payments",))
    governed_client(http, "elsewhere", tags=("crm",))
    oauth_admin = role_id(http, headers, "OAuth Admin")

    campaign = start(http, headers, name="Q4 scope review", dueDate=due_in(clock.now, 14),
                     selection={"tags": ["payments"]}, fallbackReviewerId=fallback)
    assert (campaign["state"], campaign["itemCount"], campaign["decidedCount"]) == (
        "open", 3, 0)
    items = items_by_client(http, headers, campaign["id"])
    assert set(items) == {keep, reduce, retire}
    assert {i["reviewer"]["id"] for i in items.values()} == {fallback}  # no owners
    assert items[reduce]["evidence"]["tokens"] == 0

    def decide(client_id: str, **body: object) -> dict[str, object]:
        response = http.post(f"{REVIEWS}/{campaign['id']}/items/{items[client_id]['id']}"
                             "/decision", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    decide(keep, decision="keep", comment="-still needed for invoices")
    decided = decide(reduce, decision="reduce", comment="reads audits no longer",
                     scopes=["audits:readonly"], roleIds=[oauth_admin])
    assert decided["removedScopes"] == ["audits:readonly"]
    decide(retire, decision="retire", comment="replaced by the new batch")

    reduced = client_of(http, reduce)
    assert reduced is not None
    assert "audits:readonly" not in reduced.settings.scopes
    assert oauth_admin not in {rd.role_id for rd in reduced.settings.role_divisions}
    changes = audit_events(http, headers, entity_id=reduce, action="scopes.change")
    assert [e["context"]["actorId"] for e in changes] == [admin.id]
    retired = client_of(http, retire)
    assert retired is not None
    assert retired.settings.state is ClientState.inactive
    assert retired.settings.date_to_delete == clock.now + timedelta(
        days=Policy().deactivation_retention_days)
    assert state_of(http, keep) is ClientState.active

    report = http.get(f"{REVIEWS}/{campaign['id']}/report", headers=headers)
    assert report.status_code == 200, report.text
    rows = {r["clientId"]: r for r in report.json()["entities"]}
    assert rows[reduce]["decision"] == "reduce"
    assert rows[reduce]["removedRoleIds"] == [oauth_admin]
    assert rows[retire]["comment"] == "replaced by the new batch"
    assert rows[keep]["decidedBy"] == "test admin"

    as_csv = http.get(f"{REVIEWS}/{campaign['id']}/report?format=csv", headers=headers)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(table) == 3
    by_id = {r["clientId"]: r for r in table}
    # Spreadsheet formulas arrive as text: the client's name and the comment are neutralised.
    assert by_id[keep]["clientName"] == "'=HYPERLINK(\"http://evil\")"
    assert by_id[keep]["comment"] == "'-still needed for invoices"
    assert by_id[reduce]["removedScopes"] == "audits:readonly"

    closed = http.post(f"{REVIEWS}/{campaign['id']}/close", headers=headers)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["decidedCount"]) == ("closed", 3)
    again = http.post(f"{REVIEWS}/{campaign['id']}/close", headers=headers)
    assert again.status_code == 409
    listed = http.get(REVIEWS, headers=headers).json()
    assert [c["id"] for c in listed["entities"]] == [campaign["id"]]
    assert listed["total"] == 1
    assert [e["action"] for e in audit_events(http, headers, entity_id=campaign["id"])
            if not e["action"].startswith("review.notice")].count("review.decide") == 3


def test_reduce_is_audited_under_the_deciding_admin(http: TestClient, headers: dict[str, str],
                                                    admin: Registered, clock: ManualClock,
                                                    fallback: str) -> None:
    client_id = governed_client(http, "svc", environment=Environment.production)
    campaign = start(http, headers, name="annual audit", dueDate=due_in(clock.now, 7),
                     selection={"clientIds": [client_id]}, fallbackReviewerId=fallback)
    item = items_by_client(http, headers, campaign["id"])[client_id]
    response = http.post(f"{REVIEWS}/{campaign['id']}/items/{item['id']}/decision",
                         headers=headers, json={"decision": "reduce", "comment": "least privilege",
                                                "scopes": ["audits:readonly"]})
    assert response.status_code == 200, response.text
    events = audit_events(http, headers, entity_id=client_id, action="scopes.change")
    assert [(e["client"]["id"], e["context"]["reason"]) for e in events] == [
        (admin.id, "access review 'annual audit': reduce")]
    assert events[0]["propertyChanges"][0]["property"] == "scopes"


def test_a_decision_needs_a_comment(http: TestClient, headers: dict[str, str],
                                    clock: ManualClock, fallback: str) -> None:
    client_id = governed_client(http, "svc")
    campaign = start(http, headers, name="r", dueDate=due_in(clock.now, 7),
                     selection={"all": True}, fallbackReviewerId=fallback)
    item = items_by_client(http, headers, campaign["id"])[client_id]
    for body in ({"decision": "keep"}, {"decision": "retire", "comment": "   "}):
        response = http.post(f"{REVIEWS}/{campaign['id']}/items/{item['id']}/decision",
                             headers=headers, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["details"] == [{"errorCode": "required", "fieldName": "comment"}]
    assert state_of(http, client_id) is ClientState.active
    assert items_by_client(http, headers, campaign["id"])[client_id]["decision"] is None


def test_someone_neither_reviewer_nor_review_editor_cannot_decide(
        http: TestClient, headers: dict[str, str], clock: ManualClock, fallback: str) -> None:
    client_id = governed_client(http, "svc")
    campaign = start(http, headers, name="r", dueDate=due_in(clock.now, 7),
                     selection={"all": True}, fallbackReviewerId=fallback)
    item = items_by_client(http, headers, campaign["id"])[client_id]
    made = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Review reader", "permissions": ["governance:review:view",
                                                 "oauth:client:edit"]})
    assert made.status_code == 200, made.text
    reader = bootstrap(http, name="reader", roles=["Review reader"],
                       scopes=["governance", "governance:readonly"])
    reader_headers = bearer(token(http, reader))
    assert http.get(f"{REVIEWS}/{campaign['id']}", headers=reader_headers).status_code == 200

    response = http.post(f"{REVIEWS}/{campaign['id']}/items/{item['id']}/decision",
                         headers=reader_headers, json={"decision": "retire",
                                                       "comment": "mine now"})

    assert response.status_code == 403
    assert "governance:review:edit" in response.json()["message"]
    assert state_of(http, client_id) is ClientState.active
    assert items_by_client(http, headers, campaign["id"])[client_id]["decision"] is None
    # A read-only token cannot start one either.
    readonly = bearer(token(http, reader, scope="governance:readonly"))
    refused = http.post(REVIEWS, headers=readonly, json={
        "name": "x", "dueDate": due_in(clock.now, 1), "selection": {"all": True},
        "fallbackReviewerId": fallback})
    assert refused.status_code == 403


def test_selection_by_tag_and_by_environment(http: TestClient, headers: dict[str, str],
                                             clock: ManualClock, fallback: str) -> None:
    prod = governed_client(http, "prod api", environment=Environment.production,
                           tags=("billing", "pci"))
    staging = governed_client(http, "staging api", environment=Environment.staging,
                              tags=("billing",))
    governed_client(http, "untagged")
    by_env = start(http, headers, name="prod", dueDate=due_in(clock.now, 7),
                   selection={"environment": "production"}, fallbackReviewerId=fallback)
    assert set(items_by_client(http, headers, by_env["id"])) == {prod}
    by_tag = start(http, headers, name="billing", dueDate="2100-01-31",
                   selection={"tags": ["billing", "nothing-has-this"]},
                   fallbackReviewerId=fallback)
    assert set(items_by_client(http, headers, by_tag["id"])) == {prod, staging}
    assert by_tag["dueDate"] == "2100-01-31T23:59:59.000Z"
    assert by_tag["selection"] == {"tags": ["billing", "nothing-has-this"]}


@pytest.mark.parametrize(("change", "field"), [
    ({"dueDate": "2000-01-01"}, "dueDate"),
    ({"dueDate": "next friday"}, "dueDate"),
    ({"name": ""}, "name"),
    ({"selection": {"tags": ["nothing-has-this"]}}, "selection"),
    ({"selection": {"tags": [], "all": True}}, "selection"),
    ({"selection": {"owner": "me"}}, "selection"),
    ({"selection": {"clientIds": ["00000000-0000-4000-8000-00000000dead"]}},
     "selection.clientIds"),
    ({"selection": {"findingKind": "unused-client"}}, "selection"),  # no client has one
    ({"fallbackReviewerId": "nobody"}, "fallbackReviewerId"),
])
def test_bad_campaigns_are_refused_with_the_field(http: TestClient, headers: dict[str, str],
                                                  clock: ManualClock, fallback: str,
                                                  change: dict[str, object], field: str) -> None:
    governed_client(http, "svc")
    body = {"name": "r", "dueDate": due_in(clock.now, 7), "selection": {"all": True},
            "fallbackReviewerId": fallback} | change
    response = http.post(REVIEWS, headers=headers, json=body)
    assert response.status_code == 400, response.text
    assert field in [d["fieldName"] for d in response.json()["details"]]
    assert http.get(REVIEWS, headers=headers).json()["total"] == 0


def test_bad_decisions_and_unknown_ids(http: TestClient, headers: dict[str, str],
                                       clock: ManualClock, fallback: str) -> None:
    client_id = governed_client(http, "svc")
    campaign = start(http, headers, name="r", dueDate=due_in(clock.now, 7),
                     selection={"all": True}, fallbackReviewerId=fallback)
    item = items_by_client(http, headers, campaign["id"])[client_id]
    url = f"{REVIEWS}/{campaign['id']}/items/{item['id']}/decision"
    for body, field in (({"decision": "maybe", "comment": "x"}, "decision"),
                        ({"decision": "reduce", "comment": "x"}, "scopes"),
                        ({"decision": "reduce", "comment": "x", "scopes": ["oauth"]}, "scopes"),
                        ({"decision": "reduce", "comment": "x",
                          "scopes": list(client_of_scopes(http, client_id))}, "scope"),
                        ({"decision": "keep", "comment": "x", "scopes": ["oauth"]}, "scopes")):
        response = http.post(url, headers=headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in [d["fieldName"] for d in response.json()["details"]], response.text
    missing = "00000000-0000-4000-8000-00000000dead"
    assert http.get(f"{REVIEWS}/{missing}", headers=headers).status_code == 404
    assert http.get(f"{REVIEWS}/{missing}/report", headers=headers).status_code == 404
    assert http.post(f"{REVIEWS}/{missing}/close", headers=headers).status_code == 404
    assert http.post(f"{REVIEWS}/{campaign['id']}/items/{missing}/decision", headers=headers,
                     json={"decision": "keep", "comment": "x"}).status_code == 404
    assert http.get(f"{REVIEWS}/{campaign['id']}/report?format=xls",
                    headers=headers).status_code == 400
    assert state_of(http, client_id) is ClientState.active


def client_of_scopes(http: TestClient, client_id: str) -> tuple[str, ...]:
    client = client_of(http, client_id)
    assert client is not None
    return client.settings.scopes


def test_due_date_reminds_then_escalates_and_disables_the_unreviewed(
        http: TestClient, headers: dict[str, str], admin: Registered, clock: ManualClock,
        fallback: str) -> None:
    set_policy(http, unreviewed_action=UnreviewedAction.disable)
    decided = governed_client(http, "decided", tags=("t",))
    ignored = governed_client(http, "ignored", tags=("t",))
    campaign = start(http, headers, name="quarterly", dueDate=due_in(clock.now, 10),
                     selection={"tags": ["t"]}, fallbackReviewerId=fallback)
    item = items_by_client(http, headers, campaign["id"])[decided]
    assert http.post(f"{REVIEWS}/{campaign['id']}/items/{item['id']}/decision", headers=headers,
                     json={"decision": "keep", "comment": "fine"}).status_code == 200

    attend(http)  # ten days ahead: nothing yet
    assert items_by_client(http, headers, campaign["id"])[ignored]["dateReminded"] is None
    clock.advance(8 * DAY)  # two days before: the reminder, once
    headers = bearer(token(http, admin))  # the old token expired meanwhile
    attend(http)
    attend(http)
    items = items_by_client(http, headers, campaign["id"])
    assert items[ignored]["dateReminded"] is not None
    assert items[decided]["dateReminded"] is None
    reminders = audit_events(http, headers, entity_id=campaign["id"],
                             action="review.notice.reminder")
    assert len(reminders) == 1
    assert fallback in str(reminders[0])
    told = [n["kind"] for n in rows(http, "SELECT recipient_id, kind FROM notices "
                                          "ORDER BY created_at") if n["recipient_id"] == fallback]
    assert told == ["review.assigned", "review.due"]  # the reviewer's inbox (and e-mail)
    assert state_of(http, ignored) is ClientState.active

    clock.advance(2 * DAY + 1)  # past the due date
    headers = bearer(token(http, admin))
    attend(http)

    assert state_of(http, ignored) is ClientState.disabled
    assert state_of(http, decided) is ClientState.active
    body = http.get(f"{REVIEWS}/{campaign['id']}", headers=headers).json()
    assert (body["state"], body["closedReason"]) == ("closed", "due date reached")
    assert {i["client"]["id"]: i["dateEscalated"] is not None for i in body["items"]} == {
        ignored: True, decided: False}
    escalation = audit_events(http, headers, entity_id=campaign["id"],
                              action="review.notice.escalated")
    assert admin.id in str(escalation)
    escalated = audit_events(http, headers, entity_id=campaign["id"], action="review.escalate")
    # The context's values are strings (the Genesys shape): a nested one is JSON.
    assert [json.loads(e["context"]["to"]) for e in escalated] == [
        {"kind": "client", "id": admin.id, "name": "test admin"}]
    assert [e["context"]["clientIds"] for e in escalated] == [ignored]
    disabling = audit_events(http, headers, entity_id=ignored, action="state.change")
    due = (clock.now - timedelta(seconds=1)).date().isoformat()
    assert f"not reviewed by {due}" in str(disabling)
    attend(http)  # closed campaigns are left alone
    assert len(audit_events(http, headers, entity_id=campaign["id"], action="close")) == 1


def test_due_date_with_policy_nothing_leaves_clients_alone(
        http: TestClient, headers: dict[str, str], admin: Registered, clock: ManualClock,
        fallback: str) -> None:
    ignored = governed_client(http, "ignored")
    campaign = start(http, headers, name="q", dueDate=due_in(clock.now, 1),
                     selection={"clientIds": [ignored]}, fallbackReviewerId=fallback)
    clock.advance(2 * DAY)
    headers = bearer(token(http, admin))
    attend(http)
    assert state_of(http, ignored) is ClientState.active
    body = http.get(f"{REVIEWS}/{campaign['id']}", headers=headers).json()
    assert body["state"] == "closed"
    assert [i["dateEscalated"] is not None for i in body["items"]] == [True]
    assert http.post(f"{REVIEWS}/{campaign['id']}/items/{body['items'][0]['id']}/decision",
                     headers=headers, json={"decision": "keep", "comment": "late"}
                     ).status_code == 409
