"""/api/v2/authorization/subjects: the roles a user holds by division (Genesys ``AuthzSubject``),
granted and taken away only by a caller who holds the role there (no escalation), and audited."""

from __future__ import annotations

from typing import Any

import pytest
from PureCloudPlatformClientV2 import ApiClient, AuthorizationApi
from PureCloudPlatformClientV2.rest import ApiException
from starlette.testclient import TestClient

from tests.people import create_user
from tests.support.clients import Registered, bootstrap
from tests.support.management import audit_events, home_division_id, role_id
from tests.support.tokens import bearer, challenge, token

SUBJECTS = "/api/v2/authorization/subjects"
USERS = "/api/v2/users"
ROLES = "/api/v2/authorization/roles"
DIVISIONS = "/api/v2/authorization/divisions"
ERROR_BODY_KEYS = {"message", "code", "status", "messageWithParams", "messageParams",
                   "contextId", "details", "errors"}


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == ERROR_BODY_KEYS
    assert body["status"] == status
    return body


def _grant_url(subject: str, division: str, role: str) -> str:
    return f"{SUBJECTS}/{subject}/divisions/{division}/roles/{role}"


def _user(http: TestClient, headers: dict[str, str], email: str = "ada@example.com") -> str:
    response = http.post(USERS, headers=headers, json={"name": "Ada Lovelace", "email": email})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _held(http: TestClient, headers: dict[str, str], user: str) -> list[tuple[str, str]]:
    """(role name, division name) of each grant the user holds."""
    response = http.get(f"{SUBJECTS}/{user}", headers=headers)
    assert response.status_code == 200, response.text
    return [(g["role"]["name"], g["division"]["name"]) for g in response.json()["grants"]]


def _grant_events(http: TestClient, headers: dict[str, str], user: str) -> list[str]:
    return sorted(e["action"] for e in audit_events(http, headers, entity_id=user)
                  if e["action"].startswith("grant."))


def _admin_holding(http: TestClient, headers: dict[str, str], role: str,
                   permissions: list[str]) -> tuple[str, dict[str, str]]:
    """A new role ``role`` (made by the Super Admin) and the bearer headers of a client holding
    only it, in the Home division."""
    made = http.post(ROLES, headers=headers, json={"name": role, "permissions": permissions})
    assert made.status_code == 200, made.text
    client = bootstrap(http, name=f"{role} client", roles=[role])
    return str(made.json()["id"]), bearer(token(http, client))


@pytest.fixture
def home(http: TestClient, headers: dict[str, str]) -> str:
    return home_division_id(http, headers)


@pytest.fixture
def oauth_admin(http: TestClient, headers: dict[str, str]) -> str:
    return role_id(http, headers, "OAuth Admin")


@pytest.fixture
def granter(http: TestClient) -> Registered:
    """A Super Admin client that also holds OAuth Admin in Home, so it may grant that role
    (holding every permission is not enough: a caller grants only roles it holds)."""
    return bootstrap(http, name="granter", roles=["Super Admin", "OAuth Admin"])


@pytest.fixture
def granting(http: TestClient, granter: Registered) -> dict[str, str]:
    return bearer(token(http, granter))


# -- the grants a user holds


def test_subject_shows_each_grant_in_the_genesys_shape(http: TestClient,
                                                        headers: dict[str, str],
                                                        granting: dict[str, str], home: str,
                                                        oauth_admin: str) -> None:
    user = _user(http, headers)
    assert http.get(f"{SUBJECTS}/{user}", headers=headers).json() == {
        "id": user, "name": "Ada Lovelace", "grants": [], "version": 1,
        "selfUri": f"{SUBJECTS}/{user}"}
    added = http.post(_grant_url(user, home, oauth_admin), headers=granting)
    assert (added.status_code, added.content) == (204, b"")
    assert http.get(f"{SUBJECTS}/{user}", headers=headers).json()["grants"] == [{
        "subjectId": user,
        "division": {"id": home, "name": "Home", "selfUri": f"{DIVISIONS}/{home}"},
        "role": {"id": oauth_admin, "name": "OAuth Admin", "selfUri": f"{ROLES}/{oauth_admin}"},
    }]
    removed = http.delete(_grant_url(user, home, oauth_admin), headers=granting)
    assert (removed.status_code, removed.content) == (204, b"")
    assert _held(http, headers, user) == []


def test_subject_grants_a_role_in_several_divisions(http: TestClient, headers: dict[str, str],
                                                    home: str, oauth_admin: str) -> None:
    user = _user(http, headers)
    emea = http.post(DIVISIONS, headers=headers, json={"name": "EMEA"}).json()["id"]
    both = bootstrap(http, name="two divisions", roles=["Super Admin"], roleDivisions=[
        {"roleId": oauth_admin, "divisionId": division} for division in (home, emea)])
    granting = bearer(token(http, both))
    for division in (home, emea):
        assert http.post(_grant_url(user, division, oauth_admin),
                         headers=granting).status_code == 204
    assert sorted(_held(http, headers, user)) == [("OAuth Admin", "EMEA"),
                                                  ("OAuth Admin", "Home")]
    assert http.delete(_grant_url(user, emea, oauth_admin), headers=granting).status_code == 204
    assert _held(http, headers, user) == [("OAuth Admin", "Home")]


def test_grant_and_revoke_are_audited_with_role_and_division(
        http: TestClient, headers: dict[str, str], granter: Registered,
        granting: dict[str, str], home: str, oauth_admin: str) -> None:
    user = _user(http, headers)
    assert http.post(_grant_url(user, home, oauth_admin), headers=granting).status_code == 204
    assert http.delete(_grant_url(user, home, oauth_admin), headers=granting).status_code == 204
    events = {e["action"]: e for e in audit_events(http, headers, entity_id=user)}
    for action in ("grant.add", "grant.delete"):
        event = events[action]
        assert (event["status"], event["entity"]) == (
            "SUCCESS", {"id": user, "name": "ada@example.com"})
        assert {k: event["context"][k] for k in ("actorId", "roleId", "roleName",
                                                 "divisionId")} == {
            "actorId": granter.id, "roleId": oauth_admin, "roleName": "OAuth Admin",
            "divisionId": home}


def test_grant_already_held_is_a_conflict(http: TestClient, headers: dict[str, str],
                                          granting: dict[str, str], home: str,
                                          oauth_admin: str) -> None:
    user = _user(http, headers)
    assert http.post(_grant_url(user, home, oauth_admin), headers=granting).status_code == 204
    _error(http.post(_grant_url(user, home, oauth_admin), headers=granting), 409)
    assert _held(http, headers, user) == [("OAuth Admin", "Home")]
    assert _grant_events(http, headers, user) == ["grant.add"]


def test_revoke_of_a_grant_not_held_is_404(http: TestClient, headers: dict[str, str],
                                           granting: dict[str, str], home: str,
                                           oauth_admin: str) -> None:
    user = _user(http, headers)
    body = _error(http.delete(_grant_url(user, home, oauth_admin), headers=granting), 404)
    assert "does not hold" in body["message"]
    assert _grant_events(http, headers, user) == []


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize("unknown", ["subject", "client-as-subject", "role", "division"])
def test_grant_names_what_was_not_found(http: TestClient, admin: Registered,
                                        headers: dict[str, str], home: str, oauth_admin: str,
                                        method: str, unknown: str) -> None:
    user = _user(http, headers)
    subject, division, role = user, home, oauth_admin
    if unknown == "subject":
        subject, expected = "no-such-user", "no user with id no-such-user"
    elif unknown == "client-as-subject":
        subject, expected = admin.id, f"no user with id {admin.id}"
    elif unknown == "role":
        role, expected = "no-such-role", "no role with id no-such-role"
    else:
        division, expected = "no-such-division", "no division with id no-such-division"
    response = http.request(method, _grant_url(subject, division, role), headers=headers)
    assert _error(response, 404)["message"] == expected
    assert _held(http, headers, user) == []


@pytest.mark.parametrize("subject", ["no-such-user", "client"])
def test_subject_that_is_not_a_user_is_404(http: TestClient, admin: Registered,
                                           headers: dict[str, str], subject: str) -> None:
    subject = admin.id if subject == "client" else subject
    body = _error(http.get(f"{SUBJECTS}/{subject}", headers=headers), 404)
    assert body["message"] == f"no user with id {subject}"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_grant_to_another_subject_type_is_refused(http: TestClient, headers: dict[str, str],
                                                  granting: dict[str, str], home: str,
                                                  oauth_admin: str, method: str) -> None:
    user = _user(http, headers)
    response = http.request(method, _grant_url(user, home, oauth_admin), headers=granting,
                            params={"subjectType": "PC_OAUTH_CLIENT"})
    assert [d["fieldName"] for d in _error(response, 400)["details"]] == ["subjectType"]
    assert _held(http, headers, user) == []
    explicit = http.post(_grant_url(user, home, oauth_admin), headers=granting,
                         params={"subjectType": "PC_USER"})
    assert explicit.status_code == 204, explicit.text


# -- who may


@pytest.mark.parametrize(("scope", "method", "needs"), [
    pytest.param("authorization:readonly", "POST", "authorization", id="readonly-cannot-grant"),
    pytest.param("authorization:readonly", "DELETE", "authorization",
                 id="readonly-cannot-revoke"),
    pytest.param("users", "GET", "authorization:readonly", id="users-scope-cannot-read"),
])
def test_subjects_api_needs_the_authorization_scope(http: TestClient, admin: Registered,
                                                    headers: dict[str, str], home: str,
                                                    oauth_admin: str, scope: str, method: str,
                                                    needs: str) -> None:
    user = _user(http, headers)
    url = _grant_url(user, home, oauth_admin) if method != "GET" else f"{SUBJECTS}/{user}"
    response = http.request(method, url, headers=bearer(token(http, admin, scope=scope)))
    _error(response, 403)
    assert challenge(response)["error"] == "insufficient_scope"
    assert challenge(response)["error_description"].endswith(f"scope {needs}")
    assert _held(http, headers, user) == []


def test_subjects_readonly_scope_can_read(http: TestClient, admin: Registered,
                                          headers: dict[str, str]) -> None:
    user = _user(http, headers)
    readonly = bearer(token(http, admin, scope="authorization:readonly"))
    assert http.get(f"{SUBJECTS}/{user}", headers=readonly).json()["id"] == user


@pytest.mark.parametrize(("method", "permission"), [
    pytest.param("GET", "authorization:grant:view", id="view"),
    pytest.param("POST", "authorization:grant:add", id="add"),
    pytest.param("DELETE", "authorization:grant:delete", id="delete"),
])
def test_subjects_api_refuses_an_oauth_admin_naming_the_missing_permission(
        http: TestClient, headers: dict[str, str], home: str, oauth_admin: str, method: str,
        permission: str) -> None:
    user = _user(http, headers)
    client = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    url = _grant_url(user, home, oauth_admin) if method != "GET" else f"{SUBJECTS}/{user}"
    # An unknown subjectType too: the refusal comes before the input is read.
    response = http.request(method, url, headers=bearer(token(http, client)),
                            params={"subjectType": "PC_GROUP"})
    body = _error(response, 403)
    assert (body["code"], body["message"]) == ("missing.permissions",
                                               f"missing permission {permission}")
    assert _held(http, headers, user) == []


def test_even_a_super_admin_grants_only_roles_it_holds(http: TestClient,
                                                        headers: dict[str, str], home: str,
                                                        super_admin: str,
                                                        oauth_admin: str) -> None:
    user = _user(http, headers)
    refused = http.post(_grant_url(user, home, oauth_admin), headers=headers)
    assert "OAuth Admin" in _error(refused, 403)["message"]
    assert http.post(_grant_url(user, home, super_admin), headers=headers).status_code == 204
    assert _held(http, headers, user) == [("Super Admin", "Home")]


def test_admin_cannot_grant_a_role_it_does_not_hold(http: TestClient, headers: dict[str, str],
                                                    home: str, super_admin: str) -> None:
    user = _user(http, headers)
    _, grant_admin = _admin_holding(http, headers, "Grant Admin", [
        "authorization:grant:*", "directory:user:*"])
    escalate = http.post(_grant_url(user, home, super_admin), headers=grant_admin)
    assert "Super Admin" in _error(escalate, 403)["message"]
    assert _held(http, headers, user) == []
    assert _grant_events(http, headers, user) == []
    [denied] = audit_events(http, headers, action="access.denied")
    assert "Super Admin" in denied["context"]["reason"]


def test_admin_grants_its_own_role_only_where_it_holds_it(http: TestClient,
                                                          headers: dict[str, str],
                                                          home: str) -> None:
    user = _user(http, headers)
    role, grant_admin = _admin_holding(http, headers, "Grant Admin", [
        "authorization:grant:*", "directory:user:*"])
    emea = http.post(DIVISIONS, headers=headers, json={"name": "EMEA"}).json()["id"]
    _error(http.post(_grant_url(user, emea, role), headers=grant_admin), 403)
    assert http.post(_grant_url(user, home, role), headers=grant_admin).status_code == 204
    assert _held(http, headers, user) == [("Grant Admin", "Home")]


def test_admin_cannot_take_away_a_role_it_does_not_hold(http: TestClient,
                                                        headers: dict[str, str], home: str,
                                                        super_admin: str) -> None:
    root = create_user(http, "root@example.com", roles=("Super Admin",), password=None)
    _, grant_admin = _admin_holding(http, headers, "Grant Admin", [
        "authorization:grant:*", "directory:user:*"])
    demote = http.delete(_grant_url(root.id, home, super_admin), headers=grant_admin)
    assert "Super Admin" in _error(demote, 403)["message"]
    assert _held(http, headers, root.id) == [("Super Admin", "Home")]
    assert _grant_events(http, headers, root.id) == ["grant.add"]


def test_genesys_sdk_grants_and_reads_roles_unchanged(live_server: str, admin: Registered,
                                                      http: TestClient, headers: dict[str, str],
                                                      home: str, super_admin: str) -> None:
    """The official SDK's AuthorizationApi grants, reads (``AuthzSubject``) and revokes."""
    user = _user(http, headers)
    authz = AuthorizationApi(ApiClient(host=live_server).get_client_credentials_token(
        admin.id, admin.secret))
    authz.post_authorization_subject_division_role(user, home, super_admin,
                                                   subject_type="PC_USER")
    subject = authz.get_authorization_subject(user)
    assert (subject.id, subject.name, subject.version) == (user, "Ada Lovelace", 1)
    [grant] = subject.grants
    assert (grant.subject_id, grant.role.id, grant.role.name, grant.division.id,
            grant.division.name) == (user, super_admin, "Super Admin", home, "Home")
    authz.delete_authorization_subject_division_role(user, home, super_admin)
    assert authz.get_authorization_subject(user).grants == []
    with pytest.raises(ApiException) as again:
        authz.delete_authorization_subject_division_role(user, home, super_admin)
    assert again.value.status == 404
