"""Client owners, tags and environments over /api/v2/oauth/clients (issue 12 §1), and the
organisation policy's rules for saving a client (issue 12 §4)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import code_client, signed_in_person, user_tokens
from tests.people import create_user
from tests.support.clients import CLIENTS, client_body, code_body, create_client, update_client
from tests.support.tokens import bearer
from tests.web.test_clients_api import refused

POLICY = "/api/v2/governance/policy"


def owned_body(role: str, owner_id: str, **fields: Any) -> dict[str, Any]:
    return client_body(role, owner={"id": owner_id}, ownerContact="billing-team@example.com",
                       tags=["billing", "team:finance"], environment="staging") | fields


def deactivate(http: TestClient, headers: dict[str, str], user_id: str) -> None:
    response = http.patch(f"/api/v2/users/{user_id}", headers=headers,
                          json={"state": "inactive"})
    assert response.status_code == 200, response.text


def set_policy(http: TestClient, headers: dict[str, str], **fields: Any) -> None:
    response = http.put(POLICY, headers=headers, json=fields)
    assert response.status_code == 200, response.text


# -- the extension fields --------------------------------------------------------------------


def test_client_owner_tags_and_environment_round_trip(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com", name="Olive Owner")
    created = http.post(CLIENTS, headers=headers, json=owned_body(super_admin, owner.id))
    assert created.status_code == 200, created.text
    fetched = http.get(f"{CLIENTS}/{created.json()['id']}", headers=headers).json()
    assert {k: fetched[k] for k in ("owner", "ownerContact", "tags", "environment",
                                    "orphaned")} == {
        "owner": {"id": owner.id, "name": "Olive Owner", "selfUri": f"/api/v2/users/{owner.id}"},
        "ownerContact": "billing-team@example.com", "tags": ["billing", "team:finance"],
        "environment": "staging", "orphaned": False}


@pytest.mark.parametrize(("fields", "field", "code"), [
    pytest.param({"owner": {"id": "no-such-user"}}, "owner.id", "unknown.user",
                 id="unknown-owner"),
    pytest.param({"environment": "prod"}, "environment", "enum", id="unknown-environment"),
    pytest.param({"tags": ["Has Space"]}, "tags", "invalid.tag", id="bad-tag"),
    pytest.param({"tags": ["a", "a"]}, "tags", "duplicate", id="duplicate-tag"),
])
def test_client_create_refuses_bad_governance_fields(
        http: TestClient, headers: dict[str, str], super_admin: str,
        fields: dict[str, Any], field: str, code: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin, **fields))
    assert (field, code) in refused(response)
    assert http.get(CLIENTS, headers=headers, params={"name": "billing"}).json()["total"] == 0


def test_client_create_refuses_an_inactive_owner(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "gone@example.com")
    deactivate(http, headers, owner.id)
    response = http.post(CLIENTS, headers=headers, json=owned_body(super_admin, owner.id))
    assert refused(response) == [("owner.id", "inactive.user")]


def test_client_put_without_the_extensions_keeps_them(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com")
    created = create_client(http, headers, owned_body(super_admin, owner.id))
    # What the Genesys SDK sends: its OAuthClientRequest fields only.
    sdk_body = client_body(super_admin, name="renamed")
    response = http.put(f"{CLIENTS}/{created.id}", headers=headers, json=sdk_body)
    assert response.status_code == 200, response.text
    assert (response.json()["owner"]["id"], response.json()["tags"],
            response.json()["environment"]) == (owner.id, ["billing", "team:finance"], "staging")


def test_client_put_with_null_owner_clears_it(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com")
    created = create_client(http, headers, owned_body(super_admin, owner.id))
    response = update_client(http, headers, created.id, owner=None, tags=[], environment=None)
    assert response.status_code == 200, response.text
    assert {"owner", "environment"} & set(response.json()) == set()


def test_client_is_orphaned_once_its_owner_is_deactivated(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com")
    created = create_client(http, headers, owned_body(super_admin, owner.id))
    deactivate(http, headers, owner.id)
    assert http.get(f"{CLIENTS}/{created.id}", headers=headers).json()["orphaned"] is True
    # Still editable: keeping the departed owner does not block other changes.
    assert update_client(http, headers, created.id, name="renamed").status_code == 200


def test_client_is_orphaned_once_its_owner_is_deleted(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com")
    created = create_client(http, headers, owned_body(super_admin, owner.id))
    assert http.delete(f"/api/v2/users/{owner.id}", headers=headers).status_code in (200, 204)
    fetched = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    assert (fetched["orphaned"], fetched["owner"]["id"], "name" in fetched["owner"]) == (
        True, owner.id, False)


def test_client_listing_filters_by_tag_environment_and_owner(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    owner = create_user(http, "olive@example.com")
    create_client(http, headers, owned_body(super_admin, owner.id, name="a"))
    create_client(http, headers, client_body(super_admin, name="b", tags=["other"],
                                             environment="production"))

    def names(**params: str) -> list[str]:
        response = http.get(CLIENTS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["entities"]]

    assert (names(tag="billing"), names(environment="production"), names(owner=owner.id)) == (
        ["a"], ["b"], ["a"])
    assert refused(http.get(CLIENTS, headers=headers, params={"environment": "qa"})) == [
        ("environment", "invalid.value")]


# -- a user sees the clients they own ---------------------------------------------------------


def test_owner_sees_own_clients_without_client_view(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    app = code_client(http, scopes=("oauth:readonly",))
    person = signed_in_person(http, "olive@example.com")  # no role: no oauth:client:view
    mine = create_client(http, headers, owned_body(super_admin, person.id, name="mine"))
    theirs = create_client(http, headers, client_body(super_admin, name="theirs"))
    user = bearer(user_tokens(http, app, scope="oauth:readonly")["access_token"])
    listed = http.get(CLIENTS, headers=user, params={"owner": "me"})
    assert listed.status_code == 200, listed.text
    assert [c["name"] for c in listed.json()["entities"]] == ["mine"]
    assert http.get(f"{CLIENTS}/{mine.id}", headers=user).json()["name"] == "mine"
    # The negative: nobody else's client, nor the full listing, without the permission.
    assert http.get(f"{CLIENTS}/{theirs.id}", headers=user).status_code == 403
    assert http.get(f"{CLIENTS}/not-a-client", headers=user).status_code == 403
    assert http.get(CLIENTS, headers=user).status_code == 403
    assert http.get(CLIENTS, headers=user, params={"owner": "someone-else"}).status_code == 403
    assert http.put(f"{CLIENTS}/{mine.id}", headers=user,
                    json=client_body(super_admin, name="x")).status_code == 403


def test_owner_me_is_refused_for_a_client_token(http: TestClient,
                                                headers: dict[str, str]) -> None:
    assert refused(http.get(CLIENTS, headers=headers, params={"owner": "me"})) == [
        ("owner", "not.a.user")]


# -- the policy's rules for saving a client ---------------------------------------------------


def test_policy_owner_required_refuses_a_client_without_owner(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    set_policy(http, headers, ownerRequired=True)
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin))
    assert refused(response) == [("owner.id", "policy.ownerRequired")]
    assert "ownerRequired" in response.json()["message"]
    owner = create_user(http, "olive@example.com")
    assert http.post(CLIENTS, headers=headers,
                     json=owned_body(super_admin, owner.id)).status_code == 200


def test_policy_description_required_refuses_an_empty_description(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    created = create_client(http, headers, client_body(super_admin))
    set_policy(http, headers, descriptionRequired=True)
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin, description=""))
    assert refused(response) == [("description", "policy.descriptionRequired")]
    assert refused(update_client(http, headers, created.id, description=" ")) == [
        ("description", "policy.descriptionRequired")]


def test_policy_production_https_redirects_only(
        http: TestClient, headers: dict[str, str]) -> None:
    set_policy(http, headers, productionHttpsRedirectsOnly=True)
    body = code_body(environment="production", registeredRedirectUri=[
        "https://app.example.com/cb", "http://localhost:8080/cb", "https://127.0.0.1/cb"])
    response = http.post(CLIENTS, headers=headers, json=body)
    assert refused(response) == [
        ("registeredRedirectUri[1]", "policy.productionHttpsRedirectsOnly"),
        ("registeredRedirectUri[2]", "policy.productionHttpsRedirectsOnly")]
    # The same addresses on a development client are fine.
    assert http.post(CLIENTS, headers=headers,
                     json=body | {"environment": "development"}).status_code == 200


def test_policy_rules_do_not_block_edits_of_older_clients(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    created = create_client(http, headers, client_body(super_admin, description=""))
    set_policy(http, headers, ownerRequired=True, descriptionRequired=True)
    # Disabling a client that predates the rules must still work; findings report the rest.
    response = update_client(http, headers, created.id, state="disabled")
    assert response.status_code == 200, response.text
