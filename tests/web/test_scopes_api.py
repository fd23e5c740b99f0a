"""/api/v2/oauth/scopes: the built-in catalogue plus the organisation's own scopes (issue 2 §3)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.scopes import BUILTIN_SCOPES as BUILTIN_SCOPE_DESCRIPTIONS
from tests.support.clients import CLIENTS, Registered, bootstrap, client_body, update_client
from tests.support.management import audit_events, role_id
from tests.support.tokens import bearer, token

SCOPES = "/api/v2/oauth/scopes"
BUILTIN_SCOPES = set(BUILTIN_SCOPE_DESCRIPTIONS)


def _create(http: TestClient, headers: dict[str, str], scope_id: str,
            description: str = "") -> dict[str, Any]:
    response = http.post(SCOPES, headers=headers,
                         json={"id": scope_id, "description": description})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["status"] == status
    return body


def _ids(http: TestClient, headers: dict[str, str]) -> set[str]:
    return {s["id"] for s in http.get(SCOPES, headers=headers).json()["entities"]}


def test_scopes_list_has_the_builtins(http: TestClient, headers: dict[str, str]) -> None:
    body = http.get(SCOPES, headers=headers).json()
    assert body["total"] == len(body["entities"]) == len(BUILTIN_SCOPES)
    assert body["selfUri"] == SCOPES
    assert {s["id"] for s in body["entities"]} == BUILTIN_SCOPES
    for scope in body["entities"]:
        assert scope["builtin"] is True
        assert scope["description"]
        assert scope["selfUri"] == f"{SCOPES}/{scope['id']}"


def test_scope_custom_create_get_update_delete(http: TestClient,
                                               headers: dict[str, str]) -> None:
    created = _create(http, headers, "conversations:readonly", "Read conversations")
    assert created == {"id": "conversations:readonly", "description": "Read conversations",
                       "builtin": False, "resourceServer": None,
                       "selfUri": f"{SCOPES}/conversations:readonly"}
    url = f"{SCOPES}/conversations:readonly"
    assert http.get(url, headers=headers).json() == created
    assert _ids(http, headers) == BUILTIN_SCOPES | {"conversations:readonly"}
    updated = http.put(url, headers=headers, json={"id": "conversations:readonly",
                                                   "description": "Read chats"})
    assert updated.status_code == 200, updated.text
    assert http.get(url, headers=headers).json()["description"] == "Read chats"
    assert http.delete(url, headers=headers).status_code == 204
    _error(http.get(url, headers=headers), 404)
    _error(http.delete(url, headers=headers), 404)
    assert _ids(http, headers) == BUILTIN_SCOPES


def test_scope_custom_can_be_granted_to_a_client_and_requested(
        http: TestClient, headers: dict[str, str]) -> None:
    _create(http, headers, "presence:manage")
    super_admin = role_id(http, headers, "Super Admin")
    created = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=["presence:manage", "oauth:readonly"]))
    assert created.status_code == 200, created.text
    client = Registered(created.json()["id"], created.json()["secret"])
    issued = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "client_credentials", "scope": "presence:manage"})
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "presence:manage"


def test_scope_unknown_cannot_be_granted_to_a_client(http: TestClient,
                                                     headers: dict[str, str]) -> None:
    super_admin = role_id(http, headers, "Super Admin")
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=["presence:manage"]))
    body = _error(response, 400)
    assert {d["fieldName"] for d in body["details"]} == {"scope"}
    assert "presence:manage" in body["message"]


def test_scope_duplicate_is_a_conflict(http: TestClient, headers: dict[str, str]) -> None:
    _create(http, headers, "presence:manage", "first")
    _error(http.post(SCOPES, headers=headers, json={"id": "presence:manage"}), 409)
    _error(http.post(SCOPES, headers=headers, json={"id": "oauth"}), 409)
    assert http.get(f"{SCOPES}/presence:manage",
                    headers=headers).json()["description"] == "first"


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({}, "id", id="id-missing"),
    pytest.param({"id": ""}, "id", id="id-empty"),
    pytest.param({"id": "two words"}, "id", id="id-space"),
    pytest.param({"id": 'say"what'}, "id", id="id-quote"),
    pytest.param({"id": "back\\slash"}, "id", id="id-backslash"),
    pytest.param({"id": "s" * 129}, "id", id="id-too-long"),
    pytest.param({"id": "caf\u00e9"}, "id", id="id-not-ascii"),
    pytest.param({"id": "ok", "description": "d" * 513}, "description",
                 id="description-too-long"),
    pytest.param({"id": "ok", "extra": 1}, "extra", id="unknown-field"),
])
def test_scope_create_refuses_bad_fields(http: TestClient, headers: dict[str, str],
                                         body: dict[str, Any], field: str) -> None:
    response = http.post(SCOPES, headers=headers, json=body)
    assert field in {d["fieldName"] for d in _error(response, 400)["details"]}
    assert _ids(http, headers) == BUILTIN_SCOPES


def test_scope_id_cannot_be_changed(http: TestClient, headers: dict[str, str]) -> None:
    _create(http, headers, "presence:manage")
    response = http.put(f"{SCOPES}/presence:manage", headers=headers,
                        json={"id": "presence:admin", "description": "renamed"})
    assert {d["fieldName"] for d in _error(response, 400)["details"]} == {"id"}
    assert _ids(http, headers) == BUILTIN_SCOPES | {"presence:manage"}


def test_scope_builtin_cannot_be_deleted(http: TestClient, headers: dict[str, str]) -> None:
    for scope in ("oauth", "audits:readonly"):
        _error(http.delete(f"{SCOPES}/{scope}", headers=headers), 409)
    assert _ids(http, headers) == BUILTIN_SCOPES


def test_scope_update_unknown_is_not_found(http: TestClient, headers: dict[str, str]) -> None:
    _error(http.put(f"{SCOPES}/nope", headers=headers, json={"id": "nope"}), 404)
    assert _ids(http, headers) == BUILTIN_SCOPES


def test_scope_in_use_cannot_be_deleted(http: TestClient, headers: dict[str, str]) -> None:
    _create(http, headers, "presence:manage")
    super_admin = role_id(http, headers, "Super Admin")
    created = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=["presence:manage", "oauth:readonly"]))
    assert created.status_code == 200, created.text
    client_id = created.json()["id"]
    body = _error(http.delete(f"{SCOPES}/presence:manage", headers=headers), 409)
    assert "client" in body["message"]
    assert "presence:manage" in _ids(http, headers)
    assert update_client(http, headers, client_id, scope=["oauth:readonly"]).status_code == 200
    assert http.delete(f"{SCOPES}/presence:manage", headers=headers).status_code == 204


@pytest.mark.parametrize(("held", "deleted"), [
    pytest.param("presence:manage", "presence", id="prefix-of-a-held-scope"),
    pytest.param("presence_x", "presence_", id="like-wildcard-underscore"),
    pytest.param("a%b", "a", id="like-wildcard-percent"),
])
def test_scope_in_use_check_matches_whole_scopes_only(http: TestClient, headers: dict[str, str],
                                                     held: str, deleted: str) -> None:
    # The in-use check runs in SQL over the clients' JSON scope lists: a scope that is only a
    # prefix of (or a LIKE pattern for) a held one is not in use.
    _create(http, headers, held)
    _create(http, headers, deleted)
    super_admin = role_id(http, headers, "Super Admin")
    assert http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=[held])).status_code == 200
    assert http.delete(f"{SCOPES}/{deleted}", headers=headers).status_code == 204
    _error(http.delete(f"{SCOPES}/{held}", headers=headers), 409)


def test_scope_held_by_a_deleted_client_can_be_deleted(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    _create(http, headers, "presence:manage")
    super_admin = role_id(http, headers, "Super Admin")
    created = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=["presence:manage"]))
    assert created.status_code == 200, created.text
    assert http.delete(f"{CLIENTS}/{created.json()['id']}", headers=headers).status_code == 204
    assert http.delete(f"{SCOPES}/presence:manage", headers=headers).status_code == 204


def test_scope_changes_are_audited(http: TestClient, headers: dict[str, str],
                                   admin: Registered) -> None:
    _create(http, headers, "presence:manage", "before")
    url = f"{SCOPES}/presence:manage"
    assert http.put(url, headers=headers, json={"id": "presence:manage",
                                                "description": "after"}).status_code == 200
    assert http.delete(url, headers=headers).status_code == 204
    events = audit_events(http, headers, entity_id="presence:manage")
    assert [(e["action"], e["entityType"], e["client"]["id"]) for e in events] == [
        ("delete", "OAuthScope", admin.id), ("update", "OAuthScope", admin.id),
        ("create", "OAuthScope", admin.id)]
    assert events[1]["propertyChanges"] == [
        {"property": "description", "oldValues": ["before"], "newValues": ["after"]}]


def test_scope_refused_changes_are_not_audited(http: TestClient,
                                               headers: dict[str, str]) -> None:
    _error(http.post(SCOPES, headers=headers, json={"id": "oauth"}), 409)
    _error(http.delete(f"{SCOPES}/oauth", headers=headers), 409)
    assert audit_events(http, headers, entity_id="oauth") == []


def test_scope_management_needs_scope_permissions(http: TestClient,
                                                  headers: dict[str, str]) -> None:
    made = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Scope Viewer", "permissions": ["oauth:scope:view"]})
    assert made.status_code == 200, made.text
    _create(http, headers, "presence:manage")
    viewer = bearer(token(http, bootstrap(http, name="viewer", roles=["Scope Viewer"])))
    assert http.get(SCOPES, headers=viewer).status_code == 200
    for response, permission in (
        (http.post(SCOPES, headers=viewer, json={"id": "mine"}), "oauth:scope:add"),
        (http.put(f"{SCOPES}/presence:manage", headers=viewer,
                  json={"id": "presence:manage", "description": "x"}), "oauth:scope:edit"),
        (http.delete(f"{SCOPES}/presence:manage", headers=viewer), "oauth:scope:delete"),
    ):
        assert permission in _error(response, 403)["message"]
    assert _ids(http, headers) == BUILTIN_SCOPES | {"presence:manage"}


def test_scope_oauth_admin_may_manage_scopes(http: TestClient) -> None:
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth admin", roles=["OAuth Admin"])))
    assert http.post(SCOPES, headers=oauth_admin, json={"id": "mine"}).status_code == 200
    assert http.delete(f"{SCOPES}/mine", headers=oauth_admin).status_code == 204


def test_scope_without_a_scope_listing_permission_is_refused(http: TestClient,
                                                             headers: dict[str, str]) -> None:
    made = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Audit Reader", "permissions": ["audits:audit:view"]})
    assert made.status_code == 200, made.text
    reader = bearer(token(http, bootstrap(http, name="reader", roles=["Audit Reader"])))
    assert "oauth:scope:view" in _error(http.get(SCOPES, headers=reader), 403)["message"]


def test_scope_api_needs_the_oauth_scope_to_change(http: TestClient) -> None:
    readonly = bearer(token(http, bootstrap(http, name="ro", roles=["Super Admin"],
                                            scopes=["oauth:readonly"])))
    assert http.get(SCOPES, headers=readonly).status_code == 200
    response = http.post(SCOPES, headers=readonly, json={"id": "mine"})
    assert _error(response, 403)["message"] == "the token lacks the scope oauth"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    unrelated = bearer(token(http, bootstrap(http, name="audits", roles=["Super Admin"],
                                             scopes=["audits:readonly"])))
    assert http.get(SCOPES, headers=unrelated).status_code == 403
    assert http.get(SCOPES).status_code == 401


# -- a custom scope's resource server: the audience of its tokens (issue 9 §2) --

@pytest.mark.parametrize("value", [
    pytest.param("", id="empty"),
    pytest.param("billing", id="relative"),
    pytest.param("/api/billing", id="path-only"),
    pytest.param("https://billing.example.com/api#v1", id="fragment-8707-2"),
    pytest.param("https://billing.example.com/api?v=1", id="query"),
    pytest.param("http://billing.example.com", id="http-not-loopback"),
    pytest.param("https://user:pw@billing.example.com", id="userinfo"),
    pytest.param("https://", id="no-host"),
    pytest.param("ftp://billing.example.com", id="other-scheme"),
    pytest.param("urn:billing", id="urn-without-name"),
    pytest.param("https://billing.example.com/a b", id="space"),
    pytest.param("https://b\u00e9.example.com", id="not-ascii"),
    pytest.param("https://billing.example.com:99999", id="bad-port"),
    pytest.param("https://example.com/" + "a" * 512, id="too-long"),
    pytest.param("http://testserver/api/v2", id="the-management-api"),
])
def test_scope_create_refuses_a_bad_resource_server(http: TestClient, headers: dict[str, str],
                                                    value: str) -> None:
    response = http.post(SCOPES, headers=headers,
                         json={"id": "invoices", "resourceServer": value})
    assert {d["fieldName"] for d in _error(response, 400)["details"]} == {"resourceServer"}
    assert _ids(http, headers) == BUILTIN_SCOPES  # nothing half-written


@pytest.mark.parametrize("value", [
    "https://billing.example.com/api", "https://billing.example.com", "urn:example:billing",
    "http://localhost:8080/api", "http://127.0.0.1"])
def test_scope_create_keeps_a_valid_resource_server(http: TestClient, headers: dict[str, str],
                                                    value: str) -> None:
    created = http.post(SCOPES, headers=headers, json={"id": "invoices", "resourceServer": value})
    assert created.status_code == 200, created.text
    assert created.json()["resourceServer"] == value
    assert http.get(f"{SCOPES}/invoices", headers=headers).json()["resourceServer"] == value


def test_scope_update_sets_keeps_and_clears_the_resource_server(
        http: TestClient, headers: dict[str, str]) -> None:
    _create(http, headers, "invoices")
    url = f"{SCOPES}/invoices"

    def put(body: dict[str, Any]) -> Any:
        response = http.put(url, headers=headers, json={"id": "invoices", **body})
        assert response.status_code == 200, response.text
        return http.get(url, headers=headers).json()["resourceServer"]

    assert put({"resourceServer": "https://billing.example.com"}) == "https://billing.example.com"
    assert put({"description": "left out: unchanged"}) == "https://billing.example.com"
    assert put({"resourceServer": None}) is None
    bad = http.put(url, headers=headers, json={"id": "invoices", "resourceServer": "billing"})
    assert {d["fieldName"] for d in _error(bad, 400)["details"]} == {"resourceServer"}
    events = audit_events(http, headers, entity_id="invoices", action="update")
    assert events[-1]["propertyChanges"] == [{"property": "resourceServer", "oldValues": [""],
                                              "newValues": ["https://billing.example.com"]}]


def test_scope_builtin_declares_no_resource_server(http: TestClient,
                                                   headers: dict[str, str]) -> None:
    response = http.put(f"{SCOPES}/oauth", headers=headers,
                        json={"id": "oauth", "resourceServer": "https://billing.example.com"})
    assert {d["fieldName"] for d in _error(response, 400)["details"]} == {"resourceServer"}
    assert http.get(f"{SCOPES}/oauth", headers=headers).json()["resourceServer"] is None
