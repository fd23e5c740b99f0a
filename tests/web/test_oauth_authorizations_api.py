"""/api/v2/oauth/authorizations: a user sees the apps they authorized (Genesys
``OAuthAuthorization``) and revokes one, which stops every token the app holds for them at once;
a client-credentials token is refused, and no user ever sees or revokes another's."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from PureCloudPlatformClientV2 import ApiClient
from starlette.testclient import TestClient

from tests.oauth_flows import (
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    signed_in_person,
    user_tokens,
)
from tests.people import Person
from tests.support.clients import Registered
from tests.support.management import audit_events
from tests.support.tokens import bearer, challenge, introspect, token

AUTHORIZATIONS = "/api/v2/oauth/authorizations"
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SCOPE = "openid users:readonly"


@dataclass(frozen=True)
class Grant:
    """A user's tokens from one code flow with ``client``."""

    person: Person
    client: Registered
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.tokens["access_token"])


def _grant(http: TestClient, person: Person, client: Registered) -> Grant:
    return Grant(person, client, user_tokens(http, client, scope=SCOPE))


def _refresh(http: TestClient, grant: Grant) -> Any:
    return http.post("/oauth/token", auth=grant.client.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": grant.tokens["refresh_token"]})


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


@dataclass(frozen=True)
class _Raw:
    """What the SDK's ``ApiClient.deserialize`` reads from an HTTP response."""

    data: str

    def getheader(self, _name: str, default: str | None = None) -> str | None:
        return default


@pytest.fixture
def admin_headers(http: TestClient, admin: Registered) -> dict[str, str]:
    return bearer(token(http, admin))


@pytest.fixture
def ada(http: TestClient) -> Grant:
    """Ada, signed in on ``http``, who authorized the app "web app" once."""
    client = code_client(http)
    return _grant(http, signed_in_person(http, "ada@example.com"), client)


# -- what a user sees


def test_authorizations_list_the_app_the_user_authorized(http: TestClient, ada: Grant) -> None:
    body = _error(http.get(AUTHORIZATIONS, headers=ada.headers), 200)
    assert (body["total"], body["pageNumber"], body["pageSize"]) == (1, 1, 25)
    assert body["selfUri"].startswith(AUTHORIZATIONS)
    [entity] = body["entities"]
    assert entity["client"] == {"id": ada.client.id, "name": "web app",
                                "selfUri": f"/api/v2/oauth/clients/{ada.client.id}"}
    assert entity["scope"] == ["openid", "users:readonly"]
    assert entity["resourceOwner"] == {"id": ada.person.id, "name": "ada",
                                       "selfUri": f"/api/v2/users/{ada.person.id}"}
    assert ISO_INSTANT.match(entity["dateCreated"]), entity["dateCreated"]
    assert entity["selfUri"] == f"{AUTHORIZATIONS}/{ada.client.id}"


def test_authorizations_read_by_the_genesys_sdk_models(http: TestClient, ada: Grant) -> None:
    """The official SDK's OAuthAuthorizationListing / OAuthAuthorization read both answers, with
    no enum value unknown to it."""
    sdk = ApiClient()
    listing = sdk.deserialize(_Raw(http.get(AUTHORIZATIONS, headers=ada.headers).text),
                              "OAuthAuthorizationListing")
    one = sdk.deserialize(_Raw(http.get(f"{AUTHORIZATIONS}/{ada.client.id}",
                                        headers=ada.headers).text), "OAuthAuthorization")
    assert (listing.total, [a.client.id for a in listing.entities]) == (1, [ada.client.id])
    assert (one.client.name, one.resource_owner.id, one.scope, one.state) == (
        "web app", ada.person.id, ["openid", "users:readonly"], "Authorized")
    assert one.date_created is not None
    assert "outdated_sdk_version" not in json.dumps([listing.to_dict(), one.to_dict()],
                                                    default=str)


def test_authorization_get_one_is_the_listed_entity(http: TestClient, ada: Grant) -> None:
    one = _error(http.get(f"{AUTHORIZATIONS}/{ada.client.id}", headers=ada.headers), 200)
    assert one == http.get(AUTHORIZATIONS, headers=ada.headers).json()["entities"][0]


@pytest.mark.parametrize("client_id", [
    pytest.param("registered", id="a-client-the-user-never-authorized"),
    pytest.param("00000000-0000-0000-0000-000000000000", id="no-such-client"),
    pytest.param("%00", id="nul-in-the-id"),
])
def test_authorization_get_is_404_for_a_client_not_authorized(
        http: TestClient, ada: Grant, admin_headers: dict[str, str], client_id: str) -> None:
    if client_id == "registered":
        client_id = code_client(http, name="never used").id
    body = _error(http.get(f"{AUTHORIZATIONS}/{client_id}", headers=ada.headers), 404)
    assert body["code"] == "not.found"
    _error(http.delete(f"{AUTHORIZATIONS}/{client_id}", headers=ada.headers), 404)
    assert audit_events(http, admin_headers, action="authorization.revoke") == []


def test_authorizations_pages_through_the_apps(http: TestClient, ada: Grant) -> None:
    second = code_client(http, name="another app")
    _grant(http, ada.person, second)
    first_page = _error(http.get(AUTHORIZATIONS, params={"pageSize": 1}, headers=ada.headers),
                        200)
    second_page = _error(http.get(AUTHORIZATIONS, params={"pageSize": 1, "pageNumber": 2},
                                  headers=ada.headers), 200)
    assert (first_page["total"], first_page["pageCount"]) == (2, 2)
    assert [e["client"]["name"] for e in first_page["entities"] + second_page["entities"]] == [
        "another app", "web app"]


@pytest.mark.parametrize("params", [
    pytest.param({"pageSize": "0"}, id="pageSize-zero"),
    pytest.param({"pageSize": "501"}, id="pageSize-too-big"),
    pytest.param({"pageNumber": "x"}, id="pageNumber-not-a-number"),
])
def test_authorizations_paging_out_of_range_is_400_naming_the_field(
        http: TestClient, ada: Grant, params: dict[str, str]) -> None:
    body = _error(http.get(AUTHORIZATIONS, params=params, headers=ada.headers), 400)
    assert [d["fieldName"] for d in body["details"]] == list(params)


# -- revoking


def test_authorization_delete_stops_every_token_of_the_app_at_once(
        http: TestClient, ada: Grant, admin: Registered) -> None:
    again = _grant(http, ada.person, ada.client)  # consent remembered: a second grant family
    response = http.delete(f"{AUTHORIZATIONS}/{ada.client.id}", headers=ada.headers)
    assert (response.status_code, response.content) == (204, b"")
    for grant in (ada, again):
        refused = _error(http.get(AUTHORIZATIONS, headers=grant.headers), 401)
        assert refused["code"] == "bad.credentials"
        assert challenge(http.get(AUTHORIZATIONS, headers=grant.headers))["error"] == (
            "invalid_token")
        _error(http.get("/api/v2/users/me", headers=grant.headers), 401)
        assert introspect(http, admin, grant.tokens["access_token"]).json() == {"active": False}
        assert _error(_refresh(http, grant), 400)["error"] == "invalid_grant"


def test_a_code_issued_before_the_revocation_cannot_be_exchanged_after_it(
        http: TestClient, ada: Grant) -> None:
    pkce = pkce_pair()
    code = answer_of(authorize(http, ada.client.id, scope=SCOPE, pkce=pkce))["code"]
    assert http.delete(f"{AUTHORIZATIONS}/{ada.client.id}", headers=ada.headers
                       ).status_code == 204
    late = exchange(http, ada.client, code, pkce=pkce)
    assert _error(late, 400)["error"] == "invalid_grant"


def test_authorization_delete_forgets_the_consent(http: TestClient, ada: Grant) -> None:
    remembered = answer_of(authorize(http, ada.client.id, scope=SCOPE, pkce=pkce_pair(),
                                     prompt="none"))
    assert "code" in remembered, remembered
    assert http.delete(f"{AUTHORIZATIONS}/{ada.client.id}", headers=ada.headers).status_code == 204
    # The app must ask again: a silent request is refused with consent_required.
    answer = answer_of(authorize(http, ada.client.id, scope=SCOPE, pkce=pkce_pair(),
                                 prompt="none"))
    assert answer["error"] == "consent_required"
    # Allowing it again makes a new authorization, with working tokens.
    fresh = _grant(http, ada.person, ada.client)
    assert _error(http.get(AUTHORIZATIONS, headers=fresh.headers), 200)["total"] == 1


def test_authorization_delete_is_audited_with_the_user_as_actor(
        http: TestClient, ada: Grant, admin_headers: dict[str, str]) -> None:
    assert http.delete(f"{AUTHORIZATIONS}/{ada.client.id}", headers=ada.headers).status_code == 204
    [event] = audit_events(http, admin_headers, entity_id=ada.client.id,
                           action="authorization.revoke")
    assert event["user"] == {"id": ada.person.id, "name": "ada@example.com"}
    assert (event["entityType"], event["entity"], event["status"]) == (
        "OAuthClient", {"id": ada.client.id, "name": "web app"}, "SUCCESS")
    assert event["context"]["scopes"] == "openid users:readonly"
    recorded = json.dumps(event)
    for secret in (ada.tokens["access_token"], ada.tokens["refresh_token"], ada.client.secret):
        assert secret not in recorded


def test_authorization_delete_through_another_app_leaves_that_app_working(
        http: TestClient, ada: Grant) -> None:
    other = _grant(http, ada.person, code_client(http, name="another app"))
    url = f"{AUTHORIZATIONS}/{ada.client.id}"
    assert http.delete(url, headers=other.headers).status_code == 204
    body = _error(http.get(AUTHORIZATIONS, headers=other.headers), 200)
    assert [e["client"]["id"] for e in body["entities"]] == [other.client.id]
    assert _refresh(http, other).status_code == 200
    _error(http.get(AUTHORIZATIONS, headers=ada.headers), 401)
    # Revoked already: nothing left to revoke.
    assert _error(http.delete(url, headers=other.headers), 404)["code"] == "not.found"


# -- who may


@pytest.mark.parametrize(("method", "path"), [
    pytest.param("GET", "", id="list"),
    pytest.param("GET", "/{id}", id="get"),
    pytest.param("DELETE", "/{id}", id="delete"),
])
def test_authorizations_refuse_a_client_credentials_token(
        http: TestClient, ada: Grant, admin_headers: dict[str, str], method: str,
        path: str) -> None:
    response = http.request(method, AUTHORIZATIONS + path.format(id=ada.client.id),
                            headers=admin_headers)
    body = _error(response, 400)
    assert body["message"].startswith("This request requires a user context")
    assert _error(http.get(AUTHORIZATIONS, headers=ada.headers), 200)["total"] == 1


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-token"),
    pytest.param({"Authorization": "Bearer not-a-token"}, id="unknown-token"),
])
def test_authorizations_without_a_valid_token_are_401_and_audited(
        http: TestClient, ada: Grant, admin_headers: dict[str, str],
        headers: dict[str, str]) -> None:
    _error(http.delete(f"{AUTHORIZATIONS}/{ada.client.id}", headers=headers), 401)
    assert _error(http.get(AUTHORIZATIONS, headers=ada.headers), 200)["total"] == 1
    denied = audit_events(http, admin_headers, action="access.denied")
    assert f"DELETE {AUTHORIZATIONS}/{ada.client.id}" in [e["entity"]["name"] for e in denied]


def test_authorizations_of_another_user_are_never_visible_nor_revocable(
        http: TestClient, ada: Grant) -> None:
    shared, private = ada.client, code_client(http, name="ada's own app")
    ada_private = _grant(http, ada.person, private)
    bob = _grant(http, signed_in_person(http, "bob@example.com"), shared)

    listed = _error(http.get(AUTHORIZATIONS, headers=bob.headers), 200)
    assert [(e["client"]["id"], e["resourceOwner"]["id"]) for e in listed["entities"]] == [
        (shared.id, bob.person.id)]
    _error(http.get(f"{AUTHORIZATIONS}/{private.id}", headers=bob.headers), 404)
    _error(http.delete(f"{AUTHORIZATIONS}/{private.id}", headers=bob.headers), 404)
    assert _refresh(http, ada_private).status_code == 200

    # Bob revoking the app they share revokes Bob's grant only.
    assert http.delete(f"{AUTHORIZATIONS}/{shared.id}", headers=bob.headers).status_code == 204
    _error(http.get(AUTHORIZATIONS, headers=bob.headers), 401)
    mine = _error(http.get(AUTHORIZATIONS, headers=ada.headers), 200)
    assert sorted(e["client"]["id"] for e in mine["entities"]) == sorted([shared.id, private.id])
    assert _refresh(http, ada).status_code == 200

