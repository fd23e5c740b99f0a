"""/api/v2/users: create, list, read, change and delete users in the Genesys shapes, every change
made through the user rules (permissions, no escalation, audit), and no password ever shown."""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

import pytest
from PureCloudPlatformClientV2 import ApiClient, CreateUser, UpdateUser, UsersApi
from PureCloudPlatformClientV2.rest import ApiException
from starlette.testclient import TestClient

from keystead.store.audit import AuditQuery, SqlAuditLog
from keystead.store.users import SqlCredentialStore
from keystead.web.runtime import Runtime
from tests.people import PASSWORD, Console, create_user
from tests.support.apps import run
from tests.support.clients import Registered, bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, challenge, token

USERS = "/api/v2/users"
ROLES = "/api/v2/authorization/roles"
NEW_PASSWORD = "quartz-meadow-bicycle-42"
M = TypeVar("M")
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


def _create(http: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = http.post(USERS, headers=headers,
                         json={"name": "Ada Lovelace", "email": "ada@example.com"} | fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _user_events(http: TestClient, headers: dict[str, str], *,
                 action: str | None = None) -> list[dict[str, Any]]:
    return [e for e in audit_events(http, headers, action=action) if e["entityType"] == "User"]


def _total(http: TestClient, headers: dict[str, str]) -> int:
    return int(http.get(USERS, headers=headers).json()["total"])


def _password_works(http: TestClient, email: str, password: str) -> bool:
    """Whether ``password`` is the user's password now, checked as sign-in checks it."""

    async def work(runtime: Runtime) -> bool:
        async with runtime.transaction() as conn:
            found = await SqlCredentialStore(conn).credentials(email=email)
        assert found is not None
        return runtime.passwords.verify(found.password_hash, password)

    return run(http, work)


def _stored_changes(http: TestClient, user_id: str) -> list[object]:
    """The ``propertyChanges`` of the user's "update" events as the audit log stores them.

    Read from the store: the audit API's ``propertyChanges`` lists old/new pairs only, so it
    does not show the password marker.
    """

    async def work(runtime: Runtime) -> list[object]:
        async with runtime.transaction() as conn:
            found, _ = await SqlAuditLog(conn).query(AuditQuery(entity_id=user_id,
                                                                action="update"))
        return [stored.event.details.get("propertyChanges") for stored in found]

    return run(http, work)


def _admin_holding(http: TestClient, headers: dict[str, str], role: str,
                   permissions: list[str], *, scopes: list[str] | None = None) -> dict[str, str]:
    """Bearer headers of a client holding only a new role ``role`` (made by the Super Admin)."""
    made = http.post(ROLES, headers=headers, json={"name": role, "permissions": permissions})
    assert made.status_code == 200, made.text
    client = bootstrap(http, name=f"{role} client", roles=[role], scopes=scopes)
    return bearer(token(http, client))


# -- create and read


def test_user_create_answers_the_genesys_user_without_the_password(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.post(USERS, headers=headers, json={
        "name": "  Ada Lovelace ", "email": " Ada@Example.COM", "password": PASSWORD})
    assert response.status_code == 200, response.text
    user = response.json()
    assert user == {"id": user["id"], "name": "Ada Lovelace", "email": "ada@example.com",
                    "state": "active", "version": 1, "mfaEnrolled": False,
                    "selfUri": f"{USERS}/{user['id']}"}
    assert PASSWORD not in response.text
    assert http.get(f"{USERS}/{user['id']}", headers=headers).json() == user
    assert _password_works(http, "ada@example.com", PASSWORD)


def test_user_create_without_a_password_makes_a_user_who_cannot_sign_in(
        http: TestClient, headers: dict[str, str]) -> None:
    user = _create(http, headers)
    assert not _password_works(http, user["email"], "")
    [event] = _user_events(http, headers, action="create")
    assert (event["entity"], event["context"]["password"]) == (
        {"id": user["id"], "name": "ada@example.com"}, "False")


def test_user_shows_when_they_last_signed_in(http: TestClient, headers: dict[str, str],
                                             console: Console) -> None:
    found = http.get(USERS, headers=headers, params={"q": "root@"}).json()["entities"]
    assert [(u["id"], u["email"]) for u in found] == [(console.person.id, "root@example.com")]
    assert found[0]["dateLastLogin"].endswith("Z")
    assert found[0]["mfaEnrolled"] is True


def test_user_unknown_id_is_404_naming_it(http: TestClient, headers: dict[str, str]) -> None:
    url = f"{USERS}/no-such-user"
    for response in (http.get(url, headers=headers),
                     http.patch(url, headers=headers, json={"name": "x"}),
                     http.delete(url, headers=headers)):
        assert "no-such-user" in _error(response, 404)["message"]


# -- listing


def test_users_list_pages_in_a_genesys_listing(http: TestClient,
                                               headers: dict[str, str]) -> None:
    for name in ("Charlie", "Alpha", "Bravo"):
        _create(http, headers, name=name, email=f"{name.lower()}@example.com")
    pages = [http.get(USERS, headers=headers, params={"pageSize": 2, "pageNumber": n}).json()
             for n in (1, 2)]
    assert [[u["name"] for u in p["entities"]] for p in pages] == [["Alpha", "Bravo"],
                                                                   ["Charlie"]]
    assert {(p["total"], p["pageCount"], p["pageSize"]) for p in pages} == {(3, 2, 2)}
    assert pages[0]["nextUri"] == f"{USERS}?pageSize=2&pageNumber=2"
    assert pages[1]["previousUri"] == pages[0]["selfUri"] == f"{USERS}?pageSize=2&pageNumber=1"
    assert "nextUri" not in pages[1]
    assert set(pages[0]["entities"][0]) == {"id", "name", "email", "state", "version",
                                            "mfaEnrolled", "selfUri"}


def test_users_list_filters_by_name_or_email_and_the_filter_survives_paging(
        http: TestClient, headers: dict[str, str]) -> None:
    for name, email in (("Grace Hopper", "grace@navy.example"), ("Alan Turing", "alan@example.org"),
                        ("Joan Clarke", "joan@navy.example"), ("Edsger Dijkstra", "ed@tue.nl")):
        _create(http, headers, name=name, email=email)
    by_name = http.get(USERS, headers=headers, params={"q": "TURING"}).json()
    assert [u["name"] for u in by_name["entities"]] == ["Alan Turing"]
    first = http.get(USERS, headers=headers, params={"q": "navy", "pageSize": 1}).json()
    assert (first["total"], [u["name"] for u in first["entities"]]) == (2, ["Grace Hopper"])
    second = http.get(first["nextUri"], headers=headers).json()
    assert [u["name"] for u in second["entities"]] == ["Joan Clarke"]
    assert http.get(USERS, headers=headers, params={"q": "100%"}).json()["total"] == 0


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({"pageSize": "0"}, "pageSize", id="size-zero"),
    pytest.param({"pageSize": "501"}, "pageSize", id="size-too-big"),
    pytest.param({"pageNumber": "-1"}, "pageNumber", id="number-negative"),
    pytest.param({"q": "x" * 321}, "q", id="query-too-long"),
    pytest.param({"q": "a\x00b"}, "q", id="query-nul"),
])
def test_users_list_refuses_bad_parameters_naming_them(http: TestClient, headers: dict[str, str],
                                                       params: dict[str, str],
                                                       field: str) -> None:
    assert _fields(http.get(USERS, headers=headers, params=params)) == {field}


# -- bad input


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"email": "not-an-email"}, "email", id="email-no-at"),
    pytest.param({"email": "two@@example.com"}, "email", id="email-two-ats"),
    pytest.param({"email": 42}, "email", id="email-not-text"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"name": "n" * 129}, "name", id="name-too-long"),
    pytest.param({"name": "bad\ud800"}, "name", id="name-lone-surrogate"),
    pytest.param({"password": "short-pw"}, "password", id="password-short"),
    pytest.param({"password": "password1234"}, "password", id="password-common"),
    pytest.param({"password": "abababababababab"}, "password", id="password-repetitive"),
    pytest.param({"password": "my-ada.lovelace-pw"}, "password", id="password-holds-email"),
    pytest.param({"password": "p" * 257}, "password", id="password-too-long"),
    pytest.param({"password": "\udfffsurrogate-pw"}, "password", id="password-lone-surrogate"),
    pytest.param({"password": 1234567890123}, "password", id="password-not-text"),
    pytest.param({"password": "nul\x00inside-password"}, "password", id="password-nul"),
    pytest.param({"department": "Engineering"}, "department", id="unknown-field"),
    pytest.param({"version": 1}, "version", id="version-on-create"),
])
def test_user_create_refuses_bad_fields_and_writes_nothing(
        http: TestClient, headers: dict[str, str], body: dict[str, Any], field: str) -> None:
    # json.dumps escapes a lone surrogate as JSON allows (``\\ud800``); httpx would refuse it.
    response = http.post(USERS, headers=headers | {"content-type": "application/json"},
                         content=json.dumps({"name": "Ada Lovelace",
                                             "email": "ada.lovelace@example.com"} | body))
    assert _fields(response) == {field}
    password = body.get("password")
    if isinstance(password, str):
        assert password not in response.text
    assert _total(http, headers) == 0
    assert _user_events(http, headers) == []


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]", b'"ada"'],
                         ids=["empty", "not-json", "array", "string"])
def test_user_create_refuses_a_body_that_is_not_an_object(http: TestClient,
                                                          headers: dict[str, str],
                                                          raw: bytes) -> None:
    response = http.post(USERS, headers=headers | {"content-type": "application/json"},
                         content=raw)
    assert _fields(response) == {"body"}
    assert _total(http, headers) == 0


def test_user_create_refuses_a_missing_field_naming_it(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    assert _fields(http.post(USERS, headers=headers, json={})) == {"name", "email"}


def test_user_duplicate_email_is_a_conflict(http: TestClient, headers: dict[str, str]) -> None:
    ada = _create(http, headers)
    grace = _create(http, headers, name="Grace Hopper", email="grace@example.com")
    _error(http.post(USERS, headers=headers, json={"name": "Another Ada",
                                                   "email": "ADA@example.com "}), 409)
    _error(http.patch(f"{USERS}/{grace['id']}", headers=headers,
                      json={"email": "ada@example.com"}), 409)
    assert _total(http, headers) == 2
    assert http.get(f"{USERS}/{grace['id']}", headers=headers).json() == grace
    same = http.patch(f"{USERS}/{ada['id']}", headers=headers, json={"email": "Ada@example.com"})
    assert same.status_code == 200, same.text


# -- change and delete


def test_user_update_changes_only_the_fields_given(http: TestClient,
                                                   headers: dict[str, str]) -> None:
    user = _create(http, headers)
    url = f"{USERS}/{user['id']}"
    renamed = http.patch(url, headers=headers, json={"name": "Ada King", "version": 1})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == user | {"name": "Ada King"}
    inactive = http.patch(url, headers=headers, json={"state": "inactive", "email": None})
    assert inactive.json() == user | {"name": "Ada King", "state": "inactive"}
    assert http.get(url, headers=headers).json() == inactive.json()
    changes = [e["propertyChanges"] for e in _user_events(http, headers, action="update")]
    assert sorted(changes, key=str) == sorted([
        [{"property": "name", "oldValues": ["Ada Lovelace"], "newValues": ["Ada King"]}],
        [{"property": "state", "oldValues": ["active"], "newValues": ["inactive"]}]], key=str)


def test_user_update_sets_a_new_password_audited_only_as_changed(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    user = _create(http, headers, password=PASSWORD)
    response = http.patch(f"{USERS}/{user['id']}", headers=headers,
                          json={"password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json() == user
    assert _password_works(http, user["email"], NEW_PASSWORD)
    assert not _password_works(http, user["email"], PASSWORD)
    [event] = _user_events(http, headers, action="update")
    assert (event["entity"]["id"], event["context"]["actorId"]) == (user["id"], admin.id)
    assert _stored_changes(http, user["id"]) == [{"password": "changed"}]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"state": "gone"}, "state", id="state-not-in-enum"),
    pytest.param({"state": "deleted"}, "state", id="state-deleted-is-delete"),
    pytest.param({"email": "nobody"}, "email", id="email-bad"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"password": "short-pw"}, "password", id="password-short"),
    pytest.param({"password": "qwertyuiop123"}, "password", id="password-common"),
    pytest.param({"mfaEnrolled": False}, "mfaEnrolled", id="read-only-field"),
    pytest.param({"version": 0}, "version", id="version-zero"),
])
def test_user_update_refuses_bad_fields_and_changes_nothing(
        http: TestClient, headers: dict[str, str], body: dict[str, Any], field: str) -> None:
    user = _create(http, headers, password=PASSWORD)
    response = http.patch(f"{USERS}/{user['id']}", headers=headers,
                          json={"name": "Ada King"} | body)
    assert _fields(response) == {field}
    if isinstance(body.get("password"), str):
        assert body["password"] not in response.text
    assert http.get(f"{USERS}/{user['id']}", headers=headers).json() == user
    assert _user_events(http, headers, action="update") == []
    assert _password_works(http, user["email"], PASSWORD)


def test_user_delete_removes_the_user_and_is_audited(http: TestClient,
                                                      headers: dict[str, str]) -> None:
    user = _create(http, headers)
    url = f"{USERS}/{user['id']}"
    deleted = http.delete(url, headers=headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    _error(http.get(url, headers=headers), 404)
    _error(http.delete(url, headers=headers), 404)
    assert _total(http, headers) == 0
    [event] = _user_events(http, headers, action="delete")
    assert event["entity"] == {"id": user["id"], "name": "ada@example.com"}


# -- who may


def test_users_me_with_a_client_token_is_400_requiring_a_user(http: TestClient,
                                                               headers: dict[str, str]) -> None:
    body = _error(http.get(f"{USERS}/me", headers=headers), 400)
    assert body["code"] == "not.a.user"
    assert body["message"].startswith("This request requires a user context")


@pytest.mark.parametrize(("scope", "method", "path", "needs"), [
    pytest.param("users:readonly", "POST", "", "users", id="readonly-cannot-create"),
    pytest.param("users:readonly", "PATCH", "/{id}", "users", id="readonly-cannot-update"),
    pytest.param("users:readonly", "DELETE", "/{id}", "users", id="readonly-cannot-delete"),
    pytest.param("oauth", "GET", "", "users:readonly", id="oauth-cannot-list"),
    pytest.param("oauth", "GET", "/{id}", "users:readonly", id="oauth-cannot-read"),
    pytest.param("oauth", "GET", "/me", "users:readonly", id="oauth-cannot-read-me"),
])
def test_users_api_needs_the_users_scope(http: TestClient, admin: Registered,
                                         headers: dict[str, str], scope: str, method: str,
                                         path: str, needs: str) -> None:
    user = _create(http, headers)
    narrow = bearer(token(http, admin, scope=scope))
    response = http.request(method, USERS + path.format(id=user["id"]), headers=narrow,
                            json={"name": "Mallory", "email": "mallory@example.com"})
    _error(response, 403)
    assert challenge(response)["error"] == "insufficient_scope"
    assert needs in challenge(response)["error_description"]
    assert http.get(USERS, headers=headers).json()["entities"] == [user]


def test_users_readonly_scope_can_read(http: TestClient, admin: Registered,
                                       headers: dict[str, str]) -> None:
    user = _create(http, headers)
    readonly = bearer(token(http, admin, scope="users:readonly"))
    assert http.get(USERS, headers=readonly).json()["entities"] == [user]
    assert http.get(f"{USERS}/{user['id']}", headers=readonly).json() == user


@pytest.mark.parametrize(("method", "path", "permission"), [
    pytest.param("GET", "", "directory:user:view", id="list"),
    pytest.param("GET", "/{id}", "directory:user:view", id="read"),
    pytest.param("POST", "", "directory:user:add", id="create"),
    pytest.param("PATCH", "/{id}", "directory:user:edit", id="update"),
    pytest.param("DELETE", "/{id}", "directory:user:delete", id="delete"),
])
def test_users_api_refuses_an_oauth_admin_naming_the_missing_permission(
        http: TestClient, headers: dict[str, str], method: str, path: str,
        permission: str) -> None:
    user = _create(http, headers)
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    # A body that breaks every rule: the refusal comes before the input is read.
    response = http.request(method, USERS + path.format(id=user["id"]),
                            headers=bearer(token(http, oauth_admin)),
                            json={"email": "nope", "password": "x", "state": "gone"})
    body = _error(response, 403)
    assert (body["code"], body["message"]) == ("missing.permissions",
                                               f"missing permission {permission}")
    assert http.get(USERS, headers=headers).json()["entities"] == [user]
    [denied] = audit_events(http, headers, action="access.denied")
    assert (denied["context"]["actorId"], denied["context"]["reason"]) == (
        oauth_admin.id, f"missing permission {permission}")


def test_user_admin_cannot_take_over_or_delete_a_stronger_user(
        http: TestClient, headers: dict[str, str]) -> None:
    root = create_user(http, "root@example.com", roles=("Super Admin",))
    plain = _create(http, headers, email="plain@example.com", password=PASSWORD)
    user_admin = _admin_holding(http, headers, "User Admin", ["directory:user:*"])
    takeover = http.patch(f"{USERS}/{root.id}", headers=user_admin,
                          json={"password": NEW_PASSWORD})
    assert "*:*:*" in _error(takeover, 403)["message"]
    _error(http.patch(f"{USERS}/{root.id}", headers=user_admin,
                      json={"email": "attacker@example.com"}), 403)
    _error(http.delete(f"{USERS}/{root.id}", headers=user_admin), 403)
    assert http.get(f"{USERS}/{root.id}", headers=headers).json()["email"] == "root@example.com"
    assert _password_works(http, root.email, PASSWORD)
    # The same admin manages a user whose permissions it covers.
    allowed = http.patch(f"{USERS}/{plain['id']}", headers=user_admin,
                         json={"password": NEW_PASSWORD})
    assert allowed.status_code == 200, allowed.text
    assert _password_works(http, plain["email"], NEW_PASSWORD)
    assert [e["entity"]["id"] for e in _user_events(http, headers, action="update")] == [
        plain["id"]]


def test_passwords_never_show_in_responses_audit_or_logs(
        http: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refused = ["short-pw", "password1234", "ada.lovelace-is-here", "p" * 257]
    responses = [http.post(USERS, headers=headers, json={
        "name": "Ada Lovelace", "email": "ada.lovelace@example.com", "password": PASSWORD})]
    url = f"{USERS}/{responses[0].json()['id']}"
    responses += [http.patch(url, headers=headers, json={"password": NEW_PASSWORD})]
    responses += [http.patch(url, headers=headers, json={"password": p}) for p in refused]
    responses += [http.post(USERS, headers=headers, json={
        "name": "x", "email": "bad", "password": p}) for p in refused]
    responses += [http.get(url, headers=headers), http.get(USERS, headers=headers)]
    assert [r.status_code for r in responses] == [200, 200] + [400] * 8 + [200, 200]
    audit = str(audit_events(http, headers))
    for password in [PASSWORD, NEW_PASSWORD, *refused]:
        assert all(password not in r.text for r in responses), password
        assert password not in audit, password
        assert password not in caplog.text, password


def test_genesys_sdk_manages_users_unchanged(live_server: str, admin: Registered) -> None:
    """The official SDK's UsersApi: its CreateUser/UpdateUser bodies (``version`` included) are
    accepted and its models read every answer, with no enum value unknown to it."""
    api = UsersApi(ApiClient(host=live_server).get_client_credentials_token(admin.id,
                                                                           admin.secret))
    created = api.post_users(_sdk_model(CreateUser, name="Ada Lovelace",
                                        email="ada@example.com", password=PASSWORD))
    assert (created.name, created.email, created.state, created.version) == (
        "Ada Lovelace", "ada@example.com", "active", 1)
    changed = api.patch_user(created.id, _sdk_model(UpdateUser, version=created.version,
                                                    state="inactive"))
    assert (changed.name, changed.state) == ("Ada Lovelace", "inactive")
    listing = api.get_users(page_size=10, page_number=1)
    assert ([u.id for u in listing.entities], listing.total) == ([created.id], 1)
    assert api.get_user(created.id).state == "inactive"
    with pytest.raises(ApiException) as me:
        api.get_users_me()
    assert me.value.status == 400
    api.delete_user(created.id)
    with pytest.raises(ApiException) as gone:
        api.get_user(created.id)
    assert gone.value.status == 404
    for model in (created, changed, listing):
        assert "outdated_sdk_version" not in str(model.to_dict())


def _sdk_model(model: type[M], **fields: Any) -> M:
    """An SDK request model with these attributes (its constructor takes no arguments)."""
    instance = model()
    for name, value in fields.items():
        assert name in instance.swagger_types, name  # type: ignore[attr-defined]
        setattr(instance, name, value)
    return instance
