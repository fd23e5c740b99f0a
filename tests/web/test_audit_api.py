"""POST /api/v2/audits/query/realtime: the audit log in the Genesys shape (issue 2 §8).

The app runs on a hand-moved clock so that events fall at known instants and intervals can be
checked to the second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.clients import CLIENTS, Registered, bootstrap, client_body, update_client
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.tokens import bearer, token

QUERY = "/api/v2/audits/query/realtime"
DAY = "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z"
ENTITY_KEYS = {"id", "user", "client", "remoteIp", "serviceName", "level", "eventDate",
               "action", "entity", "entityType", "status", "application", "propertyChanges",
               "context", "requestId", "actorDivisions"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def audited(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def admin_on_clock(audited: TestClient) -> Registered:
    return bootstrap(audited, name="ops", roles=["Super Admin"])  # 09:00


@pytest.fixture
def headers(audited: TestClient, admin_on_clock: Registered) -> dict[str, str]:
    return bearer(token(audited, admin_on_clock))


@pytest.fixture
def timeline(audited: TestClient, headers: dict[str, str], clock: ManualClock,
             admin_on_clock: Registered) -> dict[str, str]:
    """09:00 admin bootstrapped; 09:10 billing created; 09:20 billing updated;
    09:30 a wrong secret for billing; 09:40 role Auditor created (the token lasts till 10:00)."""
    super_admin = role_id(audited, headers, "Super Admin")
    clock.advance(600)
    created = audited.post(CLIENTS, headers=headers, json=client_body(super_admin))
    assert created.status_code == 200, created.text
    billing = created.json()["id"]
    clock.advance(600)
    assert update_client(audited, headers, billing, description="monthly").status_code == 200
    clock.advance(600)
    failed = audited.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(billing, "not-the-secret"))
    assert failed.status_code == 401
    clock.advance(600)
    role = audited.post("/api/v2/authorization/roles", headers=headers,
                        json={"name": "Auditor", "permissions": ["audits:audit:view"]})
    assert role.status_code == 200, role.text
    return {"admin": admin_on_clock.id, "billing": billing, "role": role.json()["id"]}


def _query(http: TestClient, headers: dict[str, str], interval: str = DAY,
           **body: Any) -> dict[str, Any]:
    response = http.post(QUERY, headers=headers, json={"interval": interval} | body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _seen(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["action"], e["entity"]["name"]) for e in page["entities"]]


def _filters(**values: str) -> list[dict[str, str]]:
    return [{"property": name, "value": value} for name, value in values.items()]


def test_audit_query_answers_in_the_genesys_shape(audited: TestClient, headers: dict[str, str],
                                                  timeline: dict[str, str]) -> None:
    page = _query(audited, headers)
    assert set(page) == {"entities", "pageSize", "pageNumber", "total", "pageCount"}
    assert (page["pageSize"], page["pageNumber"], page["total"], page["pageCount"]) == (
        25, 1, 5, 1)
    created = next(e for e in page["entities"] if e["entity"]["id"] == timeline["billing"]
                   and e["action"] == "create")
    assert set(created) == ENTITY_KEYS
    assert created["eventDate"] == "2026-11-02T09:10:00.000Z"
    assert created["entityType"] == "OAuthClient"
    assert (created["status"], created["serviceName"], created["level"]) == (
        "SUCCESS", "OAuth", "USER")
    assert created["client"] == {"id": timeline["admin"]}
    assert created["user"] is None
    assert created["remoteIp"] == ["testclient"]


@pytest.mark.usefixtures("timeline")
def test_audit_query_newest_first_unless_sorted_ascending(audited: TestClient,
                                                          headers: dict[str, str]) -> None:
    newest = _query(audited, headers)["entities"]
    dates = [e["eventDate"] for e in newest]
    assert dates == sorted(dates, reverse=True)
    oldest = _query(audited, headers, sort=[{"name": "Timestamp", "sortOrder": "ascending"}])
    assert [e["id"] for e in oldest["entities"]] == [e["id"] for e in reversed(newest)]


@pytest.mark.parametrize(("interval", "expected"), [
    pytest.param("2026-11-02T09:05:00Z/2026-11-02T09:15:00Z", [("create", "billing service")],
                 id="ten-minutes"),
    pytest.param("2026-11-02T09:10:00Z/2026-11-02T09:20:00Z", [("create", "billing service")],
                 id="start-inclusive-end-exclusive"),
    pytest.param("2026-11-02T10:05:00+01:00/2026-11-02T10:15:00+01:00",
                 [("create", "billing service")], id="offsets"),
    pytest.param("2026-11-02T09:15:00/2026-11-02T09:25:00",
                 [("update", "billing service")], id="naive-means-utc"),
    pytest.param("2026-11-02T09:39:59Z/2026-11-03T00:00:00Z", [("create", "Auditor")],
                 id="last"),
    pytest.param("2026-11-03T00:00:00Z/2026-11-04T00:00:00Z", [], id="after-everything"),
])
@pytest.mark.usefixtures("timeline")
def test_audit_query_keeps_only_the_interval(audited: TestClient, headers: dict[str, str],
                                             interval: str,
                                             expected: list[tuple[str, str]]) -> None:
    page = _query(audited, headers, interval)
    assert _seen(page) == expected
    assert page["total"] == len(expected)


def test_audit_query_filters_by_entity_id(audited: TestClient, headers: dict[str, str],
                                          timeline: dict[str, str]) -> None:
    page = _query(audited, headers, filters=_filters(entityId=timeline["billing"]))
    assert [e["action"] for e in page["entities"]] == ["authenticate", "update", "create"]
    assert {e["entity"]["id"] for e in page["entities"]} == {timeline["billing"]}


def test_audit_query_filters_by_action_and_entity_type(
        audited: TestClient, headers: dict[str, str], timeline: dict[str, str]) -> None:
    created = _query(audited, headers, filters=_filters(action="create"))
    assert _seen(created) == [("create", "Auditor"), ("create", "billing service"),
                              ("create", "ops")]
    roles = _query(audited, headers, filters=_filters(entityType="Role"))
    assert [e["entity"]["id"] for e in roles["entities"]] == [timeline["role"]]
    both = _query(audited, headers, filters=_filters(action="create", entityType="OAuthClient"))
    assert _seen(both) == [("create", "billing service"), ("create", "ops")]


@pytest.mark.parametrize("prop", ["clientId", "userId", "actorId"])
def test_audit_query_filters_by_actor(audited: TestClient, headers: dict[str, str],
                                      timeline: dict[str, str], prop: str) -> None:
    by_admin = _query(audited, headers, filters=_filters(**{prop: timeline["admin"]}))
    assert _seen(by_admin) == [("create", "Auditor"), ("update", "billing service"),
                               ("create", "billing service")]
    by_cli = _query(audited, headers, filters=_filters(**{prop: "cli"}))
    assert _seen(by_cli) == [("create", "ops")]


def test_audit_query_filters_by_status(audited: TestClient, headers: dict[str, str],
                                       timeline: dict[str, str]) -> None:
    failures = _query(audited, headers, filters=_filters(status="FAILURE"))
    (failure,) = failures["entities"]
    assert (failure["action"], failure["status"]) == ("authenticate", "FAILURE")
    assert failure["entity"]["id"] == timeline["billing"]
    assert failure["eventDate"] == "2026-11-02T09:30:00.000Z"
    assert failure["context"]["reason"] == "wrong or expired secret"
    assert failure["remoteIp"] == ["testclient"]
    successes = _query(audited, headers, filters=_filters(status="success"))
    assert successes["total"] == 4
    assert {e["status"] for e in successes["entities"]} == {"SUCCESS"}


@pytest.mark.usefixtures("timeline")
def test_audit_query_pages(audited: TestClient, headers: dict[str, str]) -> None:
    pages = [_query(audited, headers, pageSize=2, pageNumber=n) for n in (1, 2, 3, 4)]
    assert [(p["pageNumber"], p["pageSize"], p["total"], p["pageCount"]) for p in pages] == [
        (1, 2, 5, 3), (2, 2, 5, 3), (3, 2, 5, 3), (4, 2, 5, 3)]
    assert [len(p["entities"]) for p in pages] == [2, 2, 1, 0]
    ids = [e["id"] for p in pages for e in p["entities"]]
    assert ids == [e["id"] for e in _query(audited, headers)["entities"]]


@pytest.mark.usefixtures("timeline")
def test_audit_query_shows_property_changes(audited: TestClient,
                                            headers: dict[str, str]) -> None:
    page = _query(audited, headers, filters=_filters(action="update"))
    (update,) = page["entities"]
    assert update["propertyChanges"] == [{"property": "description",
                                          "oldValues": ["nightly invoices"],
                                          "newValues": ["monthly"]}]


def test_audit_query_keeps_the_history_of_a_deleted_client(
        audited: TestClient, headers: dict[str, str], timeline: dict[str, str],
        clock: ManualClock) -> None:
    clock.advance(60)
    assert audited.delete(f"{CLIENTS}/{timeline['billing']}", headers=headers).status_code == 204
    page = _query(audited, headers, filters=_filters(entityId=timeline["billing"]))
    assert [e["action"] for e in page["entities"]] == ["delete", "authenticate", "update",
                                                       "create"]


@pytest.mark.parametrize("failure", [
    pytest.param("unknown", id="unknown-client"),
    pytest.param("disabled", id="disabled-client"),
    pytest.param("deleted", id="deleted-client"),
])
def test_audit_records_each_failed_client_authentication(
        audited: TestClient, headers: dict[str, str], failure: str) -> None:
    victim = bootstrap(audited, name="victim", roles=["Super Admin"])
    client_id = victim.id
    if failure == "unknown":
        client_id = "00000000-0000-4000-8000-0000000000aa"
    elif failure == "disabled":
        assert update_client(audited, headers, victim.id, state="disabled").status_code == 200
    else:
        assert audited.delete(f"{CLIENTS}/{victim.id}", headers=headers).status_code == 204
    response = audited.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(client_id, victim.secret))
    assert response.status_code == 401
    page = _query(audited, headers, filters=_filters(status="FAILURE", entityId=client_id))
    (event,) = page["entities"]
    assert event["action"] == "authenticate"
    assert event["context"]["reason"] == {"unknown": "unknown client",
                                          "disabled": "client is disabled",
                                          "deleted": "unknown client"}[failure]
    assert event["context"]["endpoint"]
    assert event["remoteIp"] == ["testclient"]


@pytest.mark.parametrize("interval", [
    pytest.param("", id="empty"),
    pytest.param("2026-11-02T00:00:00Z", id="no-end"),
    pytest.param("2026-11-02T00:00:00Z/", id="empty-end"),
    pytest.param("yesterday/today", id="not-dates"),
    pytest.param("2026-11-03T00:00:00Z/2026-11-02T00:00:00Z", id="end-before-start"),
    pytest.param("2026-11-02T00:00:00Z/2026-11-02T00:00:00Z", id="empty-range"),
    pytest.param("0001-01-01T00:00:00+01:00/2026-11-02T00:00:00Z", id="before-year-1"),
    pytest.param("2026-11-02T00:00:00Z/9999-12-31T23:59:59-01:00", id="after-year-9999"),
])
def test_audit_query_refuses_a_bad_interval(audited: TestClient, headers: dict[str, str],
                                            interval: str) -> None:
    response = audited.post(QUERY, headers=headers, json={"interval": interval})
    assert response.status_code == 400, response.text
    assert [d["fieldName"] for d in response.json()["details"]] == ["interval"]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({}, "interval", id="interval-missing"),
    pytest.param({"interval": DAY, "filters": [{"property": "secret", "value": "x"}]},
                 "filters[0].property", id="unknown-filter"),
    pytest.param({"interval": DAY, "filters": [{"property": "status", "value": "MAYBE"}]},
                 "filters", id="bad-status"),
    pytest.param({"interval": DAY, "pageSize": 0}, "pageSize", id="page-size-zero"),
    pytest.param({"interval": DAY, "pageSize": 501}, "pageSize", id="page-size-too-big"),
    pytest.param({"interval": DAY, "pageNumber": 0}, "pageNumber", id="page-number-zero"),
    pytest.param({"interval": DAY, "pageNumber": 10**20}, "pageNumber",
                 id="page-number-huge"),
])
def test_audit_query_refuses_bad_fields(audited: TestClient, headers: dict[str, str],
                                        body: dict[str, Any], field: str) -> None:
    response = audited.post(QUERY, headers=headers, json=body)
    assert response.status_code == 400, response.text
    assert field in [d["fieldName"] for d in response.json()["details"]]


def test_audit_query_refuses_a_body_that_is_not_json(audited: TestClient,
                                                     headers: dict[str, str]) -> None:
    response = audited.post(QUERY, headers=headers, content=b"interval=today")
    assert response.status_code == 400
    assert [d["fieldName"] for d in response.json()["details"]] == ["body"]


def test_audit_query_needs_the_audit_view_permission(audited: TestClient,
                                                     headers: dict[str, str]) -> None:
    made = audited.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Viewer", "permissions": ["oauth:client:view"]})
    assert made.status_code == 200, made.text
    viewer = bearer(token(audited, bootstrap(audited, name="viewer", roles=["Client Viewer"])))
    response = audited.post(QUERY, headers=viewer, json={"interval": DAY})
    assert response.status_code == 403
    assert "audits:audit:view" in response.json()["message"]
    oauth_admin = bearer(token(audited, bootstrap(audited, name="oa", roles=["OAuth Admin"])))
    assert audited.post(QUERY, headers=oauth_admin, json={"interval": DAY}).status_code == 200


def test_audit_query_needs_the_audits_scope(audited: TestClient) -> None:
    no_scope = bearer(token(audited, bootstrap(audited, name="x", roles=["Super Admin"],
                                               scopes=["oauth"])))
    response = audited.post(QUERY, headers=no_scope, json={"interval": DAY})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert "audits:readonly" in response.json()["message"]
    unauthenticated = audited.post(QUERY, json={"interval": DAY})
    assert unauthenticated.status_code == 401
    assert 'error="invalid_token"' in unauthenticated.headers["www-authenticate"]


def test_audit_query_is_not_answered_without_a_token_even_if_the_body_is_bad(
        audited: TestClient) -> None:
    # Validation must not run before authentication: an anonymous caller learns nothing.
    response = audited.post(QUERY, json={"interval": "nonsense"})
    assert response.status_code == 401


@pytest.mark.parametrize("value", ["bad\x00", "bad\ud800"], ids=["nul", "lone-surrogate"])
def test_audit_query_refuses_text_no_database_can_store(audited: TestClient,
                                                         headers: dict[str, str],
                                                         value: str) -> None:
    body = json.dumps({"interval": DAY, "serviceName": "OAuth",
                       "filters": [{"property": "EntityId", "value": value}]})
    response = audited.post(QUERY, content=body, headers={
        **headers, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "filters[0].value"
