"""/api/v2/authorization: roles, divisions and the permission catalogue (issue 2 §3), in the
Genesys shapes, with every change audited and every permission enforced."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.clients import Registered, bootstrap
from tests.support.management import audit_events, home_division_id, role_id
from tests.support.tokens import bearer, token

ROLES = "/api/v2/authorization/roles"
DIVISIONS = "/api/v2/authorization/divisions"
PERMISSIONS = "/api/v2/authorization/permissions"
ERROR_BODY_KEYS = {"message", "code", "status", "messageWithParams", "messageParams",
                   "contextId", "details", "errors"}


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == ERROR_BODY_KEYS
    assert body["status"] == status
    return body


def _fields(response: Any) -> set[str]:
    return {d["fieldName"] for d in _error(response, 400)["details"]}


def _create_role(http: TestClient, headers: dict[str, str], name: str,
                 permissions: list[str] | None = None) -> dict[str, Any]:
    response = http.post(ROLES, headers=headers, json={
        "name": name, "description": f"{name} role",
        "permissions": permissions if permissions is not None else ["oauth:client:view"]})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _create_division(http: TestClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    response = http.post(DIVISIONS, headers=headers, json={"name": name})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _holder(http: TestClient, role_name: str, *, scopes: list[str] | None = None) -> \
        dict[str, str]:
    """Bearer headers of a fresh client holding only ``role_name`` (in the Home division)."""
    client = bootstrap(http, name=f"holder of {role_name}", roles=[role_name], scopes=scopes)
    return bearer(token(http, client))


# -- roles


def test_roles_list_has_the_builtins_in_a_genesys_listing(http: TestClient,
                                                         headers: dict[str, str]) -> None:
    body = http.get(ROLES, headers=headers).json()
    assert {k: body[k] for k in ("pageSize", "pageNumber", "total", "pageCount")} == {
        "pageSize": 25, "pageNumber": 1, "total": 2, "pageCount": 1}
    assert body["firstUri"] == body["selfUri"] == body["lastUri"] == \
        f"{ROLES}?pageSize=25&pageNumber=1"
    assert "nextUri" not in body
    assert "previousUri" not in body
    by_name = {r["name"]: r for r in body["entities"]}
    assert set(by_name) == {"Super Admin", "OAuth Admin"}
    assert by_name["Super Admin"]["permissions"] == ["*:*:*"]
    oauth_admin = by_name["OAuth Admin"]
    assert {"oauth:client:*", "audits:audit:view"} <= set(oauth_admin["permissions"])
    assert (oauth_admin["default"], oauth_admin["base"]) == (True, True)
    assert oauth_admin["selfUri"] == f"{ROLES}/{oauth_admin['id']}"
    assert {"domain": "oauth", "entityName": "client", "actionSet": ["*"],
            "allowConditions": False} in oauth_admin["permissionPolicies"]


def test_roles_list_pages_with_next_and_previous_uris(http: TestClient,
                                                     headers: dict[str, str]) -> None:
    for name in ("Alpha", "Bravo", "Charlie"):
        _create_role(http, headers, name)
    pages = [http.get(ROLES, headers=headers, params={"pageSize": 2, "pageNumber": n}).json()
             for n in (1, 2, 3)]
    assert [[r["name"] for r in p["entities"]] for p in pages] == [
        ["Alpha", "Bravo"], ["Charlie", "OAuth Admin"], ["Super Admin"]]
    assert {(p["total"], p["pageCount"]) for p in pages} == {(5, 3)}
    assert pages[0]["nextUri"] == f"{ROLES}?pageSize=2&pageNumber=2"
    assert "previousUri" not in pages[0]
    assert pages[1]["previousUri"] == f"{ROLES}?pageSize=2&pageNumber=1"
    assert "nextUri" not in pages[2]
    assert pages[2]["lastUri"] == f"{ROLES}?pageSize=2&pageNumber=3"


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({"pageSize": "0"}, "pageSize", id="size-zero"),
    pytest.param({"pageSize": "501"}, "pageSize", id="size-too-big"),
    pytest.param({"pageNumber": "0"}, "pageNumber", id="number-zero"),
    pytest.param({"pageNumber": "two"}, "pageNumber", id="number-not-a-number"),
])
def test_roles_list_refuses_bad_paging(http: TestClient, headers: dict[str, str],
                                       params: dict[str, str], field: str) -> None:
    assert _fields(http.get(ROLES, headers=headers, params=params)) == {field}


def test_roles_list_filters_by_name(http: TestClient, headers: dict[str, str]) -> None:
    _create_role(http, headers, "Billing Reader")
    body = http.get(ROLES, headers=headers, params={"name": "billing"}).json()
    assert [r["name"] for r in body["entities"]] == ["Billing Reader"]
    assert body["total"] == 1


def test_role_create_get_update_delete(http: TestClient, headers: dict[str, str]) -> None:
    created = _create_role(http, headers, "Client Reader", ["oauth:client:view"])
    assert (created["default"], created["base"]) == (False, False)
    assert created["permissions"] == ["oauth:client:view"]
    url = f"{ROLES}/{created['id']}"
    assert http.get(url, headers=headers).json() == created
    updated = http.put(url, headers=headers, json={
        "name": "Client Editor", "permissions": ["oauth:client:view", "oauth:client:edit"]})
    assert updated.status_code == 200, updated.text
    fetched = http.get(url, headers=headers).json()
    assert (fetched["name"], fetched["permissions"]) == (
        "Client Editor", ["oauth:client:view", "oauth:client:edit"])
    assert http.delete(url, headers=headers).status_code == 204
    _error(http.get(url, headers=headers), 404)
    _error(http.delete(url, headers=headers), 404)


def test_role_create_accepts_genesys_permission_policies(http: TestClient,
                                                         headers: dict[str, str]) -> None:
    response = http.post(ROLES, headers=headers, json={
        "name": "Scope Keeper", "permissionPolicies": [
            {"domain": "oauth", "entityName": "scope", "actionSet": ["view", "edit"]},
            {"domain": "audits", "entityName": "audit", "actionSet": ["view"]}]})
    assert response.status_code == 200, response.text
    assert response.json()["permissions"] == ["oauth:scope:view", "oauth:scope:edit",
                                              "audits:audit:view"]


@pytest.mark.parametrize("permission", [
    pytest.param("oauth:client", id="two-parts"),
    pytest.param("oauth:client:view:more", id="four-parts"),
    pytest.param("oauth::view", id="empty-part"),
    pytest.param("payroll:client:view", id="unknown-domain"),
    pytest.param("oauth:widget:view", id="unknown-entity"),
    pytest.param("oauth:client:fly", id="unknown-action"),
    pytest.param("*:client:view", id="wildcard-domain-only"),
    pytest.param("oauth:*:view", id="wildcard-entity-only"),
])
def test_role_create_refuses_an_invalid_permission_naming_the_field(
        http: TestClient, headers: dict[str, str], permission: str) -> None:
    response = http.post(ROLES, headers=headers, json={
        "name": "Broken", "permissions": ["oauth:client:view", permission]})
    assert _fields(response) == {"permissionPolicies[1]"}
    assert permission in response.json()["message"]
    assert http.get(ROLES, headers=headers, params={"name": "Broken"}).json()["total"] == 0


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"permissions": []}, "name", id="name-missing"),
    pytest.param({"name": "   ", "permissions": []}, "name", id="name-blank"),
    pytest.param({"name": "x" * 129, "permissions": []}, "name", id="name-too-long"),
    pytest.param({"name": "ok", "description": "d" * 513}, "description",
                 id="description-too-long"),
])
def test_role_create_refuses_bad_fields(http: TestClient, headers: dict[str, str],
                                        body: dict[str, Any], field: str) -> None:
    assert field in _fields(http.post(ROLES, headers=headers, json=body))


def test_role_duplicate_name_is_a_conflict(http: TestClient, headers: dict[str, str]) -> None:
    first = _create_role(http, headers, "Reader")
    other = _create_role(http, headers, "Writer")
    _error(http.post(ROLES, headers=headers, json={"name": "Reader", "permissions": []}), 409)
    _error(http.post(ROLES, headers=headers, json={"name": "OAuth Admin"}), 409)
    renamed = http.put(f"{ROLES}/{other['id']}", headers=headers,
                       json={"name": "Reader", "permissions": []})
    _error(renamed, 409)
    same = http.put(f"{ROLES}/{first['id']}", headers=headers,
                    json={"name": "Reader", "permissions": ["oauth:client:edit"]})
    assert same.status_code == 200, same.text
    assert http.get(f"{ROLES}/{other['id']}", headers=headers).json()["name"] == "Writer"


@pytest.mark.parametrize("name", ["Super Admin", "OAuth Admin"])
def test_role_builtin_cannot_be_changed_or_deleted(http: TestClient, headers: dict[str, str],
                                                   name: str) -> None:
    url = f"{ROLES}/{role_id(http, headers, name)}"
    before = http.get(url, headers=headers).json()
    _error(http.put(url, headers=headers, json={"name": name, "permissions": ["*:*:*"]}), 409)
    _error(http.put(url, headers=headers, json={"name": f"{name} 2", "permissions": []}), 409)
    _error(http.delete(url, headers=headers), 409)
    assert http.get(url, headers=headers).json() == before


def test_role_in_use_cannot_be_deleted(http: TestClient, headers: dict[str, str]) -> None:
    role = _create_role(http, headers, "Batch", ["oauth:client:view"])
    holder = bootstrap(http, name="batch job", roles=["Batch"])
    body = _error(http.delete(f"{ROLES}/{role['id']}", headers=headers), 409)
    assert "assigned" in body["message"]
    assert http.get(f"{ROLES}/{role['id']}", headers=headers).status_code == 200
    assert http.delete(f"/api/v2/oauth/clients/{holder.id}", headers=headers).status_code == 204
    assert http.delete(f"{ROLES}/{role['id']}", headers=headers).status_code == 204


def test_role_changes_are_audited_with_old_and_new_values(http: TestClient,
                                                          headers: dict[str, str],
                                                          admin: Registered) -> None:
    role = _create_role(http, headers, "Reader", ["oauth:client:view"])
    url = f"{ROLES}/{role['id']}"
    assert http.put(url, headers=headers, json={
        "name": "Auditor", "description": "reads the log",
        "permissions": ["audits:audit:view"]}).status_code == 200
    assert http.delete(url, headers=headers).status_code == 204
    events = audit_events(http, headers, entity_id=role["id"])
    assert [(e["action"], e["entityType"], e["status"]) for e in events] == [
        ("delete", "Role", "SUCCESS"), ("update", "Role", "SUCCESS"),
        ("create", "Role", "SUCCESS")]
    assert {e["client"]["id"] for e in events} == {admin.id}
    changes = {c["property"]: (c["oldValues"], c["newValues"])
               for c in events[1]["propertyChanges"]}
    assert changes == {"name": (["Reader"], ["Auditor"]),
                       "description": (["Reader role"], ["reads the log"]),
                       "permissions": (["oauth:client:view"], ["audits:audit:view"])}


def test_role_rename_only_records_only_the_name(http: TestClient,
                                                headers: dict[str, str]) -> None:
    role = _create_role(http, headers, "Reader", ["oauth:client:view"])
    assert http.put(f"{ROLES}/{role['id']}", headers=headers, json={
        "name": "Viewer", "description": "Reader role",
        "permissions": ["oauth:client:view"]}).status_code == 200
    update = audit_events(http, headers, entity_id=role["id"], action="update")
    assert update[0]["propertyChanges"] == [
        {"property": "name", "oldValues": ["Reader"], "newValues": ["Viewer"]}]


# -- permissions enforced


def test_oauth_admin_cannot_create_change_or_delete_roles(http: TestClient,
                                                          headers: dict[str, str]) -> None:
    victim = _create_role(http, headers, "Victim")
    oauth_admin = _holder(http, "OAuth Admin")
    assert http.get(ROLES, headers=oauth_admin).status_code == 200  # it may view them
    for response, permission in (
        (http.post(ROLES, headers=oauth_admin, json={"name": "Mine", "permissions": ["*:*:*"]}),
         "authorization:role:add"),
        (http.put(f"{ROLES}/{victim['id']}", headers=oauth_admin,
                  json={"name": "Victim", "permissions": ["*:*:*"]}), "authorization:role:edit"),
        (http.delete(f"{ROLES}/{victim['id']}", headers=oauth_admin),
         "authorization:role:delete"),
    ):
        body = _error(response, 403)
        assert permission in body["message"]
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert http.get(ROLES, headers=headers, params={"name": "Mine"}).json()["total"] == 0
    assert http.get(f"{ROLES}/{victim['id']}", headers=headers).json()["permissions"] == [
        "oauth:client:view"]


def test_role_without_view_permission_cannot_list_roles(http: TestClient,
                                                        headers: dict[str, str]) -> None:
    _create_role(http, headers, "Scope Only", ["oauth:scope:view"])
    limited = _holder(http, "Scope Only")
    assert "authorization:role:view" in _error(http.get(ROLES, headers=limited), 403)["message"]
    for path in (DIVISIONS, f"{DIVISIONS}/home"):
        body = _error(http.get(path, headers=limited), 403)
        assert "authorization:division:view" in body["message"]


def test_authorization_api_needs_the_authorization_scope(http: TestClient) -> None:
    readonly = _holder(http, "Super Admin", scopes=["authorization:readonly"])
    assert http.get(ROLES, headers=readonly).status_code == 200
    response = http.post(ROLES, headers=readonly, json={"name": "X", "permissions": []})
    assert _error(response, 403)["message"] == "the token lacks the scope authorization"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    no_scope = _holder(http, "Super Admin", scopes=["oauth"])
    for path in (ROLES, DIVISIONS, PERMISSIONS):
        assert http.get(path, headers=no_scope).status_code == 403


def test_authorization_api_needs_a_valid_token(http: TestClient) -> None:
    for path in (ROLES, DIVISIONS, PERMISSIONS):
        response = http.get(path)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert http.get(path, headers=bearer("not-a-token")).status_code == 401


# -- divisions


def test_divisions_list_and_home(http: TestClient, headers: dict[str, str]) -> None:
    body = http.get(DIVISIONS, headers=headers).json()
    assert (body["total"], body["pageCount"], body["pageNumber"]) == (1, 1, 1)
    assert body["selfUri"] == f"{DIVISIONS}?pageSize=25&pageNumber=1"
    (home,) = body["entities"]
    assert (home["name"], home["homeDivision"]) == ("Home", True)
    assert home["selfUri"] == f"{DIVISIONS}/{home['id']}"
    assert http.get(f"{DIVISIONS}/home", headers=headers).json() == home


def test_division_create_get_update_delete(http: TestClient, headers: dict[str, str]) -> None:
    created = _create_division(http, headers, "Europe")
    assert created["homeDivision"] is False
    url = f"{DIVISIONS}/{created['id']}"
    assert http.get(url, headers=headers).json() == created
    updated = http.put(url, headers=headers, json={"name": "EMEA", "description": "all of it"})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["description"]) == ("EMEA", "all of it")
    listed = http.get(DIVISIONS, headers=headers, params={"pageSize": 1}).json()
    assert (listed["total"], listed["pageCount"], listed["nextUri"]) == (
        2, 2, f"{DIVISIONS}?pageSize=1&pageNumber=2")
    assert http.delete(url, headers=headers).status_code == 204
    _error(http.get(url, headers=headers), 404)


def test_division_duplicate_name_is_a_conflict(http: TestClient,
                                               headers: dict[str, str]) -> None:
    europe = _create_division(http, headers, "Europe")
    _error(http.post(DIVISIONS, headers=headers, json={"name": "Europe"}), 409)
    _error(http.post(DIVISIONS, headers=headers, json={"name": "Home"}), 409)
    _error(http.put(f"{DIVISIONS}/{europe['id']}", headers=headers, json={"name": "Home"}), 409)
    assert http.get(DIVISIONS, headers=headers).json()["total"] == 2


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({}, "name", id="name-missing"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "x" * 129}, "name", id="name-too-long"),
    pytest.param({"name": "ok", "description": "d" * 513}, "description",
                 id="description-too-long"),
])
def test_division_create_refuses_bad_fields(http: TestClient, headers: dict[str, str],
                                            body: dict[str, Any], field: str) -> None:
    assert field in _fields(http.post(DIVISIONS, headers=headers, json=body))


def test_division_home_cannot_be_deleted(http: TestClient, headers: dict[str, str]) -> None:
    home = home_division_id(http, headers)
    _error(http.delete(f"{DIVISIONS}/{home}", headers=headers), 409)
    assert http.get(f"{DIVISIONS}/home", headers=headers).json()["id"] == home


def test_division_in_use_cannot_be_deleted(http: TestClient, headers: dict[str, str]) -> None:
    europe = _create_division(http, headers, "Europe")
    super_admin = role_id(http, headers, "Super Admin")
    bootstrap(http, name="eu job", roles=[], roleDivisions=[
        {"roleId": super_admin, "divisionId": europe["id"]}])
    _error(http.delete(f"{DIVISIONS}/{europe['id']}", headers=headers), 409)
    assert http.get(f"{DIVISIONS}/{europe['id']}", headers=headers).status_code == 200


def test_division_changes_are_audited(http: TestClient, headers: dict[str, str]) -> None:
    europe = _create_division(http, headers, "Europe")
    url = f"{DIVISIONS}/{europe['id']}"
    assert http.put(url, headers=headers, json={"name": "EMEA"}).status_code == 200
    assert http.delete(url, headers=headers).status_code == 204
    events = audit_events(http, headers, entity_id=europe["id"])
    assert [(e["action"], e["entityType"], e["entity"]["name"]) for e in events] == [
        ("delete", "Division", "EMEA"), ("update", "Division", "EMEA"),
        ("create", "Division", "Europe")]
    assert {"property": "name", "oldValues": ["Europe"], "newValues": ["EMEA"]} in \
        events[1]["propertyChanges"]


def test_oauth_admin_cannot_create_or_delete_divisions(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    europe = _create_division(http, headers, "Europe")
    oauth_admin = _holder(http, "OAuth Admin")
    assert http.get(DIVISIONS, headers=oauth_admin).status_code == 200
    assert "authorization:division:add" in _error(
        http.post(DIVISIONS, headers=oauth_admin, json={"name": "Mine"}), 403)["message"]
    assert "authorization:division:edit" in _error(
        http.put(f"{DIVISIONS}/{europe['id']}", headers=oauth_admin, json={"name": "X"}),
        403)["message"]
    assert "authorization:division:delete" in _error(
        http.delete(f"{DIVISIONS}/{europe['id']}", headers=oauth_admin), 403)["message"]
    assert http.get(DIVISIONS, headers=headers).json()["total"] == 2


# -- the permission catalogue


def test_permissions_catalogue_lists_every_required_permission(
        http: TestClient, headers: dict[str, str]) -> None:
    body = http.get(PERMISSIONS, headers=headers).json()
    assert body["total"] == len(body["entities"])
    labels = {p["label"] for domain in body["entities"]
              for actions in domain["permissionMap"].values() for p in actions}
    required = {f"oauth:client:{a}" for a in ("add", "view", "edit", "delete", "authorize")}
    required |= {f"oauth:scope:{a}" for a in ("add", "view", "edit", "delete")}
    required |= {f"authorization:role:{a}" for a in ("add", "view", "edit", "delete")}
    required |= {f"authorization:division:{a}" for a in ("add", "view", "edit", "delete")}
    required |= {"audits:audit:view"}
    required |= {f"directory:user:{a}" for a in ("add", "view", "edit", "delete")}
    assert required <= labels
    oauth = next(d for d in body["entities"] if d["id"] == "oauth")
    assert {"domain": "oauth", "entityType": "client", "action": "add",
            "label": "oauth:client:add"} in oauth["permissionMap"]["client"]


def test_every_catalogued_permission_is_accepted_in_a_role(http: TestClient,
                                                           headers: dict[str, str]) -> None:
    body = http.get(PERMISSIONS, headers=headers).json()
    labels = sorted(p["label"] for domain in body["entities"]
                    for actions in domain["permissionMap"].values() for p in actions)
    role = _create_role(http, headers, "Everything Listed", labels)
    assert sorted(role["permissions"]) == labels
