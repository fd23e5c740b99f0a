"""/api/v2/oauth/clients over HTTP: Genesys shapes and every registration rule (issue 2 §4, §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.tokens import USAGE_DAYS
from keystead.web.app import housekeeping
from tests.support.apps import run
from tests.support.clients import (
    CLIENTS,
    Registered,
    bootstrap,
    client_body,
    code_body,
    create_client,
    service,
    update_client,
)
from tests.support.clock import ManualClock
from tests.support.management import audit_events, home_division_id, role_id
from tests.support.tokens import bearer, token

ERROR_BODY_KEYS = {"message", "code", "status", "messageWithParams", "messageParams",
                   "contextId", "details", "errors"}
SCIM_TTL = 450 * 86_400


def refused(response: Any, status: int = 400) -> list[tuple[str, str]]:
    """The (fieldName, errorCode) pairs of an ErrorBody, after checking its status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_BODY_KEYS
    assert body["status"] == status
    return [(d["fieldName"], d["errorCode"]) for d in body["details"]]


def fields_refused(response: Any) -> set[str]:
    return {field for field, _ in refused(response)}


def make_role(http: TestClient, headers: dict[str, str], name: str,
              permissions: list[str]) -> str:
    response = http.post("/api/v2/authorization/roles", headers=headers,
                         json={"name": name, "permissions": permissions})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def make_division(http: TestClient, headers: dict[str, str], name: str) -> str:
    response = http.post("/api/v2/authorization/divisions", headers=headers, json={"name": name})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def make_scope(http: TestClient, headers: dict[str, str], scope_id: str) -> None:
    response = http.post("/api/v2/oauth/scopes", headers=headers,
                         json={"id": scope_id, "description": "custom"})
    assert response.status_code == 200, response.text


def client_names(http: TestClient, headers: dict[str, str]) -> list[str]:
    response = http.get(CLIENTS, headers=headers, params={"pageSize": 500})
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["entities"]]


# -- create and read ---------------------------------------------------------------------------


def test_client_create_returns_the_client_in_genesys_shape(
        http: TestClient, headers: dict[str, str], super_admin: str, admin: Registered) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["name"] == "billing service"
    assert body["description"] == "nightly invoices"
    assert body["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    assert body["authorizedGrantTypes"] == ["CLIENT-CREDENTIALS"]
    assert body["scope"] == ["oauth:readonly"]
    assert body["state"] == "active"
    assert body["registeredRedirectUri"] == []
    assert body["selfUri"] == f"{CLIENTS}/{body['id']}"
    assert body["createdBy"]["id"] == body["modifiedBy"]["id"] == admin.id
    assert datetime.fromisoformat(body["dateCreated"]) == datetime.fromisoformat(
        body["dateModified"])
    assert "dateToDelete" not in body


def test_client_get_returns_the_created_client_without_its_secret(
        http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    created = http.post(CLIENTS, headers=headers, json=client_body(super_admin)).json()
    fetched = http.get(f"{CLIENTS}/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == {key: value for key, value in created.items() if key != "secret"}


@pytest.mark.parametrize("client_id", [
    pytest.param("00000000-0000-0000-0000-000000000000", id="unknown-uuid"),
    pytest.param("not-a-uuid", id="garbage"),
    pytest.param("a%00b", id="nul"),
    pytest.param("x" * 5_000, id="huge"),
])
def test_client_get_unknown_is_404(http: TestClient, headers: dict[str, str],
                                   client_id: str) -> None:
    response = http.get(f"{CLIENTS}/{client_id}", headers=headers)
    assert refused(response, 404) == []
    assert response.json()["code"] == "not.found"


def test_client_create_is_audited(http: TestClient, headers: dict[str, str],
                                  super_admin: str, admin: Registered) -> None:
    created = create_client(http, headers, client_body(super_admin))
    events = audit_events(http, headers, entity_id=created.id)
    assert [(e["action"], e["status"], e["client"]["id"]) for e in events] == [
        ("create", "SUCCESS", admin.id)]


# -- name and description ----------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [
    pytest.param("x", "x", id="1-char"),
    pytest.param("n" * 128, "n" * 128, id="128-chars"),
    pytest.param("  My App\t", "My App", id="trimmed"),
    pytest.param("  " + "n" * 128 + "  ", "n" * 128, id="128-chars-after-trim"),
])
def test_client_name_accepted(http: TestClient, headers: dict[str, str], super_admin: str,
                              sent: str, stored: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin, name=sent))
    assert response.status_code == 200, response.text
    assert response.json()["name"] == stored


@pytest.mark.parametrize("name", [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("n" * 129, id="129-chars"),
    pytest.param("n" * 20_000, id="huge"),
    pytest.param(None, id="null"),
    pytest.param(123, id="number"),
])
def test_client_name_refused(http: TestClient, headers: dict[str, str], super_admin: str,
                             name: object) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin, name=name))
    assert fields_refused(response) == {"name"}


def test_client_name_required(http: TestClient, headers: dict[str, str],
                              super_admin: str) -> None:
    body = client_body(super_admin)
    del body["name"]
    assert refused(http.post(CLIENTS, headers=headers, json=body)) == [("name", "missing")]


@pytest.mark.parametrize(("description", "stored"), [
    pytest.param("d" * 512, "d" * 512, id="512-chars"),
    pytest.param(None, "", id="null"),
])
def test_client_description_accepted(http: TestClient, headers: dict[str, str],
                                     super_admin: str, description: str | None,
                                     stored: str) -> None:
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, description=description))
    assert response.status_code == 200, response.text
    assert response.json()["description"] == stored


def test_client_description_over_512_refused(http: TestClient, headers: dict[str, str],
                                             super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, description="d" * 513))
    assert refused(response) == [("description", "length")]


# -- token duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [
    pytest.param({}, 3_600, id="default-one-hour"),
    pytest.param({"accessTokenValiditySeconds": None}, 3_600, id="null-means-default"),
    pytest.param({"accessTokenValiditySeconds": 300}, 300, id="minimum"),
    pytest.param({"accessTokenValiditySeconds": 172_800}, 172_800, id="maximum"),
])
def test_client_token_duration_accepted(http: TestClient, headers: dict[str, str],
                                        super_admin: str, sent: dict[str, Any],
                                        stored: int) -> None:
    body = client_body(super_admin) | sent
    response = http.post(CLIENTS, headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["accessTokenValiditySeconds"] == stored


@pytest.mark.parametrize("seconds", [
    pytest.param(299, id="below-minimum"),
    pytest.param(0, id="zero"),
    pytest.param(-3_600, id="negative"),
    pytest.param(172_801, id="above-maximum"),
    pytest.param(SCIM_TTL, id="scim-length-without-scim"),
])
def test_client_token_duration_out_of_range(http: TestClient, headers: dict[str, str],
                                            super_admin: str, seconds: int) -> None:
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, accessTokenValiditySeconds=seconds))
    assert refused(response) == [("accessTokenValiditySeconds", "out.of.range")]
    assert client_names(http, headers) == ["test admin"]


@pytest.mark.parametrize(("seconds", "status"), [
    pytest.param(SCIM_TTL, 200, id="450-days"),
    pytest.param(SCIM_TTL + 1, 400, id="over-450-days"),
])
def test_client_token_duration_scim_scope(http: TestClient, headers: dict[str, str],
                                          super_admin: str, seconds: int, status: int) -> None:
    make_scope(http, headers, "scim")
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, scope=["scim"], accessTokenValiditySeconds=seconds))
    assert response.status_code == status, response.text
    if status == 400:
        assert fields_refused(response) == {"accessTokenValiditySeconds"}


@pytest.mark.parametrize(("role_name", "status"), [
    pytest.param("SCIM Provisioning", 200, id="scim-role"),
    pytest.param("Okta scim sync", 200, id="scim-word-any-case"),
    pytest.param("Scimitar Sync", 400, id="scim-only-as-a-word"),
])
def test_client_token_duration_scim_role(http: TestClient, headers: dict[str, str],
                                         role_name: str, status: int) -> None:
    scim_role = make_role(http, headers, role_name, ["directory:user:view"])
    # The caller must hold the role it assigns, so a provisioning admin holds it too.
    provisioner = bootstrap(http, name="provisioning admin", roles=["Super Admin", role_name])
    response = http.post(CLIENTS, headers=bearer(token(http, provisioner)), json=client_body(
        scim_role, accessTokenValiditySeconds=SCIM_TTL))
    assert response.status_code == status, response.text
    if status == 400:
        assert fields_refused(response) == {"accessTokenValiditySeconds"}


# -- roles and divisions -----------------------------------------------------------------------


@pytest.mark.parametrize("roles", [
    pytest.param({"roleIds": []}, id="empty-roleIds"),
    pytest.param({"roleIds": None}, id="null-roleIds"),
    pytest.param({"roleIds": [], "roleDivisions": []}, id="empty-roleDivisions"),
])
def test_client_credentials_requires_a_role(http: TestClient, headers: dict[str, str],
                                            super_admin: str, roles: dict[str, Any]) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin) | roles)
    assert refused(response) == [("roleDivisions", "required")]


def test_client_role_ids_default_to_home_division(http: TestClient, headers: dict[str, str],
                                                  super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin))
    assert response.json()["roleDivisions"] == [
        {"roleId": super_admin, "divisionId": home_division_id(http, headers)}]


def test_client_role_without_division_defaults_to_home(http: TestClient, headers: dict[str, str],
                                                       super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, roleIds=None, roleDivisions=[{"roleId": super_admin}]))
    assert response.status_code == 200, response.text
    assert response.json()["roleDivisions"] == [
        {"roleId": super_admin, "divisionId": home_division_id(http, headers)}]


def test_client_role_in_explicit_division(http: TestClient, headers: dict[str, str],
                                          super_admin: str) -> None:
    home = home_division_id(http, headers)
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, roleIds=None, roleDivisions=[{"roleId": super_admin, "divisionId": home}]))
    assert response.status_code == 200, response.text
    assert response.json()["roleDivisions"] == [{"roleId": super_admin, "divisionId": home}]


def test_client_unknown_role_refused(http: TestClient, headers: dict[str, str],
                                     super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, roleIds=[super_admin, "no-such-role"]))
    assert refused(response) == [("roleDivisions[1].roleId", "unknown.role")]
    assert client_names(http, headers) == ["test admin"]


def test_client_unknown_division_refused(http: TestClient, headers: dict[str, str],
                                         super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, roleIds=None,
        roleDivisions=[{"roleId": super_admin, "divisionId": "no-such-division"}]))
    assert refused(response) == [("roleDivisions[0].divisionId", "unknown.division")]


def test_client_same_role_twice_in_a_division_refused(http: TestClient, headers: dict[str, str],
                                                      super_admin: str) -> None:
    home = home_division_id(http, headers)
    pair = {"roleId": super_admin, "divisionId": home}
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, roleIds=None, roleDivisions=[pair, pair]))
    assert refused(response) == [("roleDivisions", "duplicate")]


def test_client_escalation_to_unheld_role_forbidden(http: TestClient, headers: dict[str, str],
                                                    super_admin: str) -> None:
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    response = http.post(CLIENTS, headers=bearer(token(http, oauth_admin)),
                         json=client_body(super_admin, name="escalated"))
    assert refused(response, 403) == []
    assert response.json()["code"] == "missing.permissions"
    assert "Super Admin" in response.json()["message"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert "escalated" not in client_names(http, headers)
    assert "escalated" not in {e["entity"]["name"] for e in audit_events(
        http, headers, action="create")}


def test_client_escalation_mixed_with_held_role_forbidden(http: TestClient,
                                                          headers: dict[str, str],
                                                          super_admin: str) -> None:
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    held = role_id(http, headers, "OAuth Admin")
    response = http.post(CLIENTS, headers=bearer(token(http, oauth_admin)),
                         json=client_body(held, roleIds=[held, super_admin], name="escalated"))
    assert refused(response, 403) == []
    assert "escalated" not in client_names(http, headers)


def test_client_assigning_a_held_role_allowed(http: TestClient, headers: dict[str, str]) -> None:
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    held = role_id(http, headers, "OAuth Admin")
    response = http.post(CLIENTS, headers=bearer(token(http, oauth_admin)),
                         json=client_body(held, name="delegated"))
    assert response.status_code == 200, response.text
    assert "delegated" in client_names(http, headers)


def test_client_held_role_in_another_division_forbidden(http: TestClient,
                                                        headers: dict[str, str],
                                                        super_admin: str) -> None:
    # The admin holds Super Admin in the Home Division only.
    elsewhere = make_division(http, headers, "Payments")
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, name="escalated", roleIds=None,
        roleDivisions=[{"roleId": super_admin, "divisionId": elsewhere}]))
    assert refused(response, 403) == []
    assert "escalated" not in client_names(http, headers)


def test_client_role_held_in_that_division_allowed(http: TestClient, headers: dict[str, str],
                                                   super_admin: str) -> None:
    elsewhere = make_division(http, headers, "Payments")
    pair = {"roleId": super_admin, "divisionId": elsewhere}
    payments_admin = bootstrap(http, name="payments admin", roles=["Super Admin"],
                               roleDivisions=[pair])
    response = http.post(CLIENTS, headers=bearer(token(http, payments_admin)),
                         json=client_body(super_admin, roleIds=None, roleDivisions=[pair]))
    assert response.status_code == 200, response.text
    assert response.json()["roleDivisions"] == [pair]


# -- scopes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [
    pytest.param([], id="empty"),
    pytest.param(None, id="null"),
])
def test_client_scope_required(http: TestClient, headers: dict[str, str], super_admin: str,
                               scope: list[str] | None) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin, scope=scope))
    assert refused(response) == [("scope", "required")]


def test_client_scope_required_for_code_too(http: TestClient, headers: dict[str, str]) -> None:
    assert refused(http.post(CLIENTS, headers=headers, json=code_body(scope=[]))) == [
        ("scope", "required")]


def test_client_unknown_scope_refused(http: TestClient, headers: dict[str, str],
                                      super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, scope=["oauth", "payments:write"]))
    assert refused(response) == [("scope", "unknown.scope")]
    assert "payments:write" in response.json()["message"]


def test_client_custom_scope_accepted(http: TestClient, headers: dict[str, str],
                                      super_admin: str) -> None:
    make_scope(http, headers, "payments:write")
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(super_admin, scope=["oauth", "payments:write"]))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == ["oauth", "payments:write"]


# -- grant types -------------------------------------------------------------------------------


@pytest.mark.parametrize(("grants", "primary", "listed"), [
    pytest.param({"authorizedGrantType": "CODE"}, "CODE", ["CODE"], id="single-field"),
    pytest.param({"authorizedGrantType": None, "authorizedGrantTypes": ["CODE"]},
                 "CODE", ["CODE"], id="list-only"),
    pytest.param({"authorizedGrantType": None,
                  "authorizedGrantTypes": ["CLIENT-CREDENTIALS", "CODE", "SAML2-BEARER"]},
                 "CLIENT-CREDENTIALS", ["CLIENT-CREDENTIALS", "CODE", "SAML2-BEARER"],
                 id="several"),
    pytest.param({"authorizedGrantType": "CODE", "authorizedGrantTypes": ["CLIENT-CREDENTIALS"]},
                 "CODE", ["CODE", "CLIENT-CREDENTIALS"], id="single-field-is-primary"),
    pytest.param({"authorizedGrantType": "CODE", "authorizedGrantTypes": ["CODE"]},
                 "CODE", ["CODE"], id="both-fields-agree"),
    pytest.param({"authorizedGrantType": "code"}, "CODE", ["CODE"], id="lower-case"),
])
def test_client_grant_types_accepted(http: TestClient, headers: dict[str, str],
                                     super_admin: str, grants: dict[str, Any], primary: str,
                                     listed: list[str]) -> None:
    body = client_body(super_admin, registeredRedirectUri=["https://app.example.com/cb"]) | grants
    response = http.post(CLIENTS, headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert (response.json()["authorizedGrantType"], response.json()["authorizedGrantTypes"]) == (
        primary, listed)


@pytest.mark.parametrize(("grants", "problem"), [
    pytest.param({"authorizedGrantType": "PASSWORD"},
                 ("authorizedGrantType", "unsupported.grant"), id="password"),
    pytest.param({"authorizedGrantType": None, "authorizedGrantTypes": ["CODE", "password"]},
                 ("authorizedGrantType", "unsupported.grant"), id="password-in-list"),
    pytest.param({"authorizedGrantType": "MAGIC"}, ("authorizedGrantType", "invalid.value"),
                 id="unknown"),
    pytest.param({"authorizedGrantType": None, "registeredRedirectUri": None},
                 ("authorizedGrantTypes", "required"), id="none"),
    pytest.param({"authorizedGrantType": None, "authorizedGrantTypes": ["CODE", "CODE"]},
                 ("authorizedGrantTypes", "duplicate"), id="repeated"),
    pytest.param({"authorizedGrantType": "TOKEN"}, ("authorizedGrantType", "deprecated"),
                 id="implicit"),
    pytest.param({"authorizedGrantType": None, "authorizedGrantTypes": ["CODE", "TOKEN"]},
                 ("authorizedGrantType", "deprecated"), id="implicit-beside-code"),
])
def test_client_grant_types_refused(http: TestClient, headers: dict[str, str],
                                    grants: dict[str, Any], problem: tuple[str, str]) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body() | grants)
    assert refused(response) == [problem]
    assert client_names(http, headers) == ["test admin"]


# -- redirect URIs -----------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    pytest.param("https://app.example.com/cb", id="https"),
    pytest.param("http://localhost:3000/cb", id="localhost"),
    pytest.param("http://127.0.0.1/cb", id="ipv4-loopback"),
    pytest.param("http://[::1]:8080/cb", id="ipv6-loopback"),
    pytest.param("com.example.app://cb", id="private-use"),
    pytest.param("com.example.app:/cb", id="reverse-domain"),
])
def test_client_redirect_uri_accepted(http: TestClient, headers: dict[str, str],
                                      uri: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(registeredRedirectUri=[uri]))
    assert response.status_code == 200, response.text
    assert response.json()["registeredRedirectUri"] == [uri]


@pytest.mark.parametrize("uri", [
    pytest.param("http://app.example.com/cb", id="plain-http"),
    pytest.param("https://app.example.com/cb#token", id="fragment"),
    pytest.param("https://*.example.com/cb", id="wildcard"),
    pytest.param("https://attacker@app.example.com/cb", id="userinfo"),
    pytest.param("/cb", id="relative"),
    pytest.param("app.example.com/cb", id="no-scheme"),
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("", id="empty"),
    pytest.param("myapp:/cb", id="8252-7.1-private-use-without-dot"),
    pytest.param("myapp://cb", id="8252-7.1-private-use-authority-without-dot"),
])
def test_client_redirect_uri_refused(http: TestClient, headers: dict[str, str],
                                     uri: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(
        registeredRedirectUri=["https://app.example.com/ok", uri]))
    assert refused(response) == [("registeredRedirectUri[1]", "invalid.uri")]
    assert client_names(http, headers) == ["test admin"]


@pytest.mark.parametrize(("count", "status"), [
    pytest.param(125, 200, id="125"),
    pytest.param(126, 400, id="126"),
])
def test_client_redirect_uri_count(http: TestClient, headers: dict[str, str], count: int,
                                   status: int) -> None:
    uris = [f"https://app.example.com/cb/{n}" for n in range(count)]
    response = http.post(CLIENTS, headers=headers, json=code_body(registeredRedirectUri=uris))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["registeredRedirectUri"] == uris
    else:
        assert refused(response) == [("registeredRedirectUri", "too.many")]


@pytest.mark.parametrize("uris", [
    pytest.param([], id="empty"),
    pytest.param(None, id="null"),
])
def test_client_redirect_uri_required_for_code(http: TestClient, headers: dict[str, str],
                                               uris: list[str] | None) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(registeredRedirectUri=uris))
    assert refused(response) == [("registeredRedirectUri", "required")]


def test_client_redirect_uri_duplicate_refused(http: TestClient, headers: dict[str, str]) -> None:
    uri = "https://app.example.com/cb"
    response = http.post(CLIENTS, headers=headers,
                         json=code_body(registeredRedirectUri=[uri, uri]))
    assert refused(response) == [("registeredRedirectUri[1]", "duplicate")]


def test_client_redirect_uri_not_for_client_credentials(http: TestClient,
                                                        headers: dict[str, str],
                                                        super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, registeredRedirectUri=["https://app.example.com/cb"]))
    assert refused(response) == [("registeredRedirectUri", "not.applicable")]


# -- state and dates ---------------------------------------------------------------------------


def in_days(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


@pytest.mark.parametrize("offset", [
    pytest.param("Z", id="Z"),
    pytest.param("+00:00", id="plus-zero"),
    pytest.param("", id="naive-means-utc"),
])
def test_client_date_to_delete_formats(http: TestClient, headers: dict[str, str],
                                       offset: str) -> None:
    when = in_days(30)
    response = http.post(CLIENTS, headers=headers, json=code_body(
        state="inactive", dateToDelete=when.replace(tzinfo=None).isoformat() + offset))
    assert response.status_code == 200, response.text
    assert response.json()["dateToDelete"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_client_date_to_delete_other_offset_converted_to_utc(http: TestClient,
                                                             headers: dict[str, str]) -> None:
    when = in_days(30)
    sent = (when + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    response = http.post(CLIENTS, headers=headers,
                         json=code_body(state="inactive", dateToDelete=sent))
    assert response.status_code == 200, response.text
    assert response.json()["dateToDelete"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize(("fields", "problem"), [
    pytest.param({"state": "inactive"}, ("dateToDelete", "required"), id="inactive-without-date"),
    pytest.param({"state": "inactive", "dateToDelete": "2020-01-01T00:00:00Z"},
                 ("dateToDelete", "in.past"), id="inactive-date-in-past"),
    pytest.param({"dateToDelete": in_days(3).isoformat()},
                 ("dateToDelete", "not.applicable"), id="date-on-active-client"),
    pytest.param({"state": "inactive", "dateToDelete": "next tuesday"},
                 ("dateToDelete", "datetime.from.date.parsing"), id="unparseable-date"),
    pytest.param({"state": "deleted"}, ("state", "enum"), id="unknown-state"),
])
def test_client_state_refused(http: TestClient, headers: dict[str, str], fields: dict[str, Any],
                              problem: tuple[str, str]) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(**fields))
    assert refused(response) == [problem]


@pytest.mark.parametrize("state", ["active", "disabled"])
def test_client_created_in_state(http: TestClient, headers: dict[str, str], state: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(state=state))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == state


# -- ErrorBody for malformed requests ----------------------------------------------------------


@pytest.mark.parametrize(("content", "problem"), [
    pytest.param(b"{not json", ("body", "invalid.json"), id="bad-json"),
    pytest.param(b"\xff\xfe", ("body", "invalid.json"), id="not-utf8"),
    pytest.param(b"", ("body", "invalid.json"), id="empty"),
    pytest.param(b"null", ("body", "invalid.json"), id="null"),
    pytest.param(b"[]", ("body", "invalid.json"), id="array"),
    pytest.param(b'"client"', ("body", "invalid.json"), id="string"),
    pytest.param(b"42", ("body", "invalid.json"), id="number"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, ("body", "invalid.json"), id="nested-too-deep"),
])
def test_client_create_malformed_body(http: TestClient, headers: dict[str, str], content: bytes,
                                      problem: tuple[str, str]) -> None:
    response = http.post(CLIENTS, headers=headers | {"content-type": "application/json"},
                         content=content)
    assert refused(response) == [problem]


@pytest.mark.parametrize(("fields", "field"), [
    pytest.param({"nmae": "typo"}, "nmae", id="unknown-field"),
    pytest.param({"secret": "chosen-by-caller"}, "secret", id="secret-not-settable"),
    pytest.param({"accessTokenValiditySeconds": "an hour"}, "accessTokenValiditySeconds",
                 id="ttl-text"),
    pytest.param({"accessTokenValiditySeconds": 3600.5}, "accessTokenValiditySeconds",
                 id="ttl-fraction"),
    pytest.param({"scope": "oauth"}, "scope", id="scope-not-a-list"),
    pytest.param({"scope": ["oauth", 7]}, "scope[1]", id="scope-item-number"),
    pytest.param({"roleIds": "admin"}, "roleIds", id="roleIds-not-a-list"),
    pytest.param({"roleDivisions": [{"roleId": 5}]}, "roleDivisions[0].roleId",
                 id="roleId-number"),
    pytest.param({"roleDivisions": [{"role": "x"}]}, "roleDivisions[0].roleId",
                 id="roleDivision-missing-roleId"),
    pytest.param({"registeredRedirectUri": "https://a.example/cb"}, "registeredRedirectUri",
                 id="redirects-not-a-list"),
    pytest.param({"authorizedGrantTypes": "CODE"}, "authorizedGrantTypes",
                 id="grants-not-a-list"),
    pytest.param({"requirePkce": "sometimes"}, "requirePkce", id="pkce-not-bool"),
    pytest.param({"tokenFormat": "saml"}, "tokenFormat", id="unknown-token-format"),
    pytest.param({"description": ["a"]}, "description", id="description-not-text"),
    pytest.param({"state": "inactive", "dateToDelete": "9999-12-31T23:59:59-14:00"},
                 "dateToDelete", id="date-beyond-year-9999-in-utc"),
    pytest.param({"state": "inactive", "dateToDelete": "0001-01-01T00:00:00+14:00"},
                 "dateToDelete", id="date-before-year-1-in-utc"),
    pytest.param({"name": "bad\x00name"}, "name", id="name-with-nul"),
    pytest.param({"description": "\x00"}, "description", id="description-with-nul"),
    pytest.param({"scope": ["oauth", "x\x00"]}, "scope[1]", id="scope-with-nul"),
    pytest.param({"roleIds": ["\x00"]}, "roleIds[0]", id="role-id-with-nul"),
    pytest.param({"ownerContact": "ops\x00@example.com"}, "ownerContact",
                 id="owner-with-nul"),
])
def test_client_create_wrong_field_type(http: TestClient, headers: dict[str, str],
                                        super_admin: str, fields: dict[str, Any],
                                        field: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(super_admin) | fields)
    assert field in fields_refused(response)
    assert client_names(http, headers) == ["test admin"]


def test_client_error_body_shape(http: TestClient, headers: dict[str, str]) -> None:
    first = http.post(CLIENTS, headers=headers, json={"nmae": "typo"})
    second = http.post(CLIENTS, headers=headers, json={"nmae": "typo"})
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    assert set(body) == ERROR_BODY_KEYS
    assert (body["status"], body["code"]) == (400, "invalid.value")
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["messageWithParams"], str)
    assert isinstance(body["messageParams"], dict)
    assert isinstance(body["errors"], list)
    assert all(set(d) == {"errorCode", "fieldName"} for d in body["details"])
    assert {d["fieldName"] for d in body["details"]} >= {"nmae", "name"}
    assert body["contextId"]
    assert body["contextId"] != second.json()["contextId"]


def test_client_error_names_every_broken_field(http: TestClient, headers: dict[str, str],
                                               super_admin: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        super_admin, name="", scope=["nope"], accessTokenValiditySeconds=10, roleIds=[]))
    assert fields_refused(response) == {"name", "scope", "accessTokenValiditySeconds",
                                        "roleDivisions"}


# -- authorisation -----------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [
    pytest.param({}, id="no-token"),
    pytest.param({"Authorization": "Bearer not-a-token"}, id="unknown-token"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-not-bearer"),
])
def test_client_api_requires_a_valid_token(http: TestClient, super_admin: str,
                                           auth: dict[str, str]) -> None:
    created = http.post(CLIENTS, headers=auth, json=client_body(super_admin))
    assert created.status_code == 401
    assert created.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in created.headers["www-authenticate"]
    assert http.get(CLIENTS, headers=auth).status_code == 401


def test_client_readonly_scope_cannot_create(http: TestClient, admin: Registered,
                                             super_admin: str) -> None:
    readonly = bearer(token(http, admin, scope="oauth:readonly"))
    assert http.get(CLIENTS, headers=readonly).status_code == 200
    response = http.post(CLIENTS, headers=readonly, json=client_body(super_admin))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert len(http.get(CLIENTS, headers=readonly).json()["entities"]) == 1


def test_client_create_needs_add_permission(http: TestClient, headers: dict[str, str],
                                            super_admin: str) -> None:
    make_role(http, headers, "Client Viewer", ["oauth:client:view"])
    viewer = bearer(token(http, bootstrap(http, name="viewer", roles=["Client Viewer"])))
    assert http.get(CLIENTS, headers=viewer).status_code == 200
    response = http.post(CLIENTS, headers=viewer, json=client_body(super_admin, name="sneaky"))
    assert response.status_code == 403
    assert response.json()["code"] == "missing.permissions"
    assert "oauth:client:add" in response.headers["www-authenticate"]
    assert "sneaky" not in client_names(http, headers)


def test_client_view_needs_view_permission(http: TestClient, headers: dict[str, str]) -> None:
    make_role(http, headers, "Audit Reader", ["audits:audit:view"])
    reader = bearer(token(http, bootstrap(http, name="reader", roles=["Audit Reader"])))
    assert http.get(CLIENTS, headers=reader).status_code == 403


# -- listing -----------------------------------------------------------------------------------


def test_client_list_pages(http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    for n in range(5):
        create_client(http, headers, client_body(super_admin, name=f"page {n}"))
    response = http.get(CLIENTS, headers=headers, params={"pageSize": 2, "pageNumber": 2})
    assert response.status_code == 200
    body = response.json()
    assert [c["name"] for c in body["entities"]] == ["page 2", "page 3"]
    assert (body["pageSize"], body["pageNumber"], body["total"], body["pageCount"]) == (
        2, 2, 6, 3)
    assert body["nextUri"].endswith("pageNumber=3")
    assert body["previousUri"].endswith("pageNumber=1")
    last = http.get(CLIENTS, headers=headers, params={"pageSize": 2, "pageNumber": 3}).json()
    assert [c["name"] for c in last["entities"]] == ["page 4", "test admin"]
    assert "nextUri" not in last


def test_client_list_default_page(http: TestClient, headers: dict[str, str]) -> None:
    body = http.get(CLIENTS, headers=headers).json()
    assert (body["pageSize"], body["pageNumber"], body["total"], body["pageCount"]) == (
        25, 1, 1, 1)


def test_client_list_past_the_end_is_empty(http: TestClient, headers: dict[str, str]) -> None:
    body = http.get(CLIENTS, headers=headers, params={"pageNumber": 9}).json()
    assert (body["entities"], body["total"]) == ([], 1)


@pytest.fixture
def assorted(http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    create_client(http, headers, client_body(super_admin, name="Alpha service"))
    create_client(http, headers, code_body(name="beta web", state="disabled"))
    create_client(http, headers, code_body(
        name="gamma web", state="inactive", dateToDelete=in_days(5).isoformat(),
        authorizedGrantTypes=["CLIENT-CREDENTIALS"], roleIds=[super_admin]))


@pytest.mark.usefixtures("assorted")
@pytest.mark.parametrize(("params", "names"), [
    pytest.param({"name": "alpha"}, ["Alpha service"], id="name-case-insensitive"),
    pytest.param({"name": "web"}, ["beta web", "gamma web"], id="name-substring"),
    pytest.param({"name": "%"}, [], id="name-wildcard-is-literal"),
    pytest.param({"state": "active"}, ["Alpha service", "test admin"], id="state-active"),
    pytest.param({"state": "disabled"}, ["beta web"], id="state-disabled"),
    pytest.param({"state": "inactive"}, ["gamma web"], id="state-inactive"),
    pytest.param({"grantType": "CODE"}, ["beta web", "gamma web"], id="grant-code"),
    pytest.param({"grantType": "CLIENT-CREDENTIALS"},
                 ["Alpha service", "gamma web", "test admin"], id="grant-second-of-several"),
    pytest.param({"grantType": "SAML2-BEARER"}, [], id="grant-none"),
    pytest.param({"grantType": "CLIENT-CREDENTIALS", "state": "active", "name": "a"},
                 ["Alpha service", "test admin"], id="combined"),
])
def test_client_list_filters(http: TestClient, headers: dict[str, str], params: dict[str, str],
                             names: list[str]) -> None:
    response = http.get(CLIENTS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert [c["name"] for c in response.json()["entities"]] == names
    assert response.json()["total"] == len(names)


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({"state": "deleted"}, "state", id="unknown-state"),
    pytest.param({"grantType": "PASSWORD"}, "grantType", id="unknown-grant"),
    pytest.param({"state": "deleted", "grantType": "CODE"}, "state", id="bad-state-good-grant"),
    pytest.param({"state": "active", "grantType": "MAGIC"}, "grantType",
                 id="good-state-bad-grant"),
    pytest.param({"pageSize": "0"}, "pageSize", id="page-size-zero"),
    pytest.param({"pageSize": "501"}, "pageSize", id="page-size-too-big"),
    pytest.param({"pageSize": "ten"}, "pageSize", id="page-size-text"),
    pytest.param({"pageNumber": "0"}, "pageNumber", id="page-number-zero"),
    pytest.param({"pageNumber": "-1"}, "pageNumber", id="page-number-negative"),
    pytest.param({"pageSize": "\u00b2"}, "pageSize", id="page-size-superscript-digit"),
    pytest.param({"name": "a\x00b"}, "name", id="name-with-nul"),
])
def test_client_list_bad_query(http: TestClient, headers: dict[str, str], params: dict[str, str],
                               field: str) -> None:
    assert fields_refused(http.get(CLIENTS, headers=headers, params=params)) == {field}


def test_client_list_never_shows_secrets(http: TestClient, headers: dict[str, str],
                                         super_admin: str) -> None:
    created = create_client(http, headers, client_body(super_admin))
    response = http.get(CLIENTS, headers=headers)
    assert created.secret not in response.text
    assert all("secret" not in c for c in response.json()["entities"])


# -- update validation -------------------------------------------------------------------------


def test_client_update_applies_the_rules(http: TestClient, headers: dict[str, str],
                                         super_admin: str) -> None:
    created = create_client(http, headers, client_body(super_admin))
    response = update_client(http, headers, created.id, name="  renamed  ",
                             accessTokenValiditySeconds=7_200)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["accessTokenValiditySeconds"]) == (
        "renamed", 7_200)
    assert http.get(f"{CLIENTS}/{created.id}", headers=headers).json()["name"] == "renamed"


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param({"name": ""}, "name", id="empty-name"),
    pytest.param({"accessTokenValiditySeconds": 172_801}, "accessTokenValiditySeconds",
                 id="ttl-too-long"),
    pytest.param({"scope": ["nope"]}, "scope", id="unknown-scope"),
    pytest.param({"roleIds": [], "roleDivisions": []}, "roleDivisions", id="no-role"),
    pytest.param({"authorizedGrantType": "PASSWORD", "authorizedGrantTypes": None},
                 "authorizedGrantType", id="password"),
    pytest.param({"nmae": "typo"}, "nmae", id="unknown-field"),
])
def test_client_update_refused_leaves_client_unchanged(
        http: TestClient, headers: dict[str, str], super_admin: str,
        changes: dict[str, Any], field: str) -> None:
    created = create_client(http, headers, client_body(super_admin))
    before = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    response = update_client(http, headers, created.id, description="changed", **changes)
    assert field in fields_refused(response)
    assert http.get(f"{CLIENTS}/{created.id}", headers=headers).json() == before
    assert [e["action"] for e in audit_events(http, headers, entity_id=created.id)] == ["create"]


@pytest.mark.parametrize("content", [
    pytest.param(b"{broken", id="bad-json"),
    pytest.param(b"[]", id="array"),
])
def test_client_update_malformed_body(http: TestClient, headers: dict[str, str],
                                      super_admin: str, content: bytes) -> None:
    created = create_client(http, headers, client_body(super_admin))
    before = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    response = http.put(f"{CLIENTS}/{created.id}", content=content,
                        headers=headers | {"content-type": "application/json"})
    assert refused(response) == [("body", "invalid.json")]
    assert http.get(f"{CLIENTS}/{created.id}", headers=headers).json() == before


def test_client_update_escalation_forbidden_and_unchanged(http: TestClient,
                                                          headers: dict[str, str],
                                                          super_admin: str) -> None:
    held = role_id(http, headers, "OAuth Admin")
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth admin", roles=["OAuth Admin"])))
    created = create_client(http, oauth_admin, client_body(held))
    before = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    response = update_client(http, oauth_admin, created.id, roleIds=[held, super_admin],
                             description="promoted")
    assert response.status_code == 403
    assert http.get(f"{CLIENTS}/{created.id}", headers=headers).json() == before


def test_client_update_keeps_roles_it_did_not_add(http: TestClient, headers: dict[str, str],
                                                  super_admin: str) -> None:
    # A caller may edit a client whose roles it could not assign, as long as it adds none.
    created = create_client(http, headers, client_body(super_admin))
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth admin", roles=["OAuth Admin"])))
    response = update_client(http, oauth_admin, created.id, description="edited")
    assert response.status_code == 200, response.text
    assert response.json()["roleIds"] == [super_admin]


def test_client_update_unknown_is_404(http: TestClient, headers: dict[str, str],
                                      super_admin: str) -> None:
    response = http.put(f"{CLIENTS}/00000000-0000-0000-0000-000000000000", headers=headers,
                        json=client_body(super_admin))
    assert refused(response, 404) == []


def test_client_update_ignores_read_only_fields(http: TestClient, headers: dict[str, str],
                                                super_admin: str) -> None:
    created = create_client(http, headers, client_body(super_admin))
    response = update_client(http, headers, created.id, id="another-id",
                             dateCreated="2001-01-01T00:00:00Z",
                             createdBy={"id": "someone-else"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created.id
    assert body["dateCreated"] != "2001-01-01T00:00:00.000Z"
    assert body["createdBy"]["id"] != "someone-else"


# -- usage summary -----------------------------------------------------------------------------


def test_client_usage_summary_counts_tokens_and_failures(http: TestClient,
                                                         headers: dict[str, str],
                                                         super_admin: str) -> None:
    app = create_client(http, headers, client_body(super_admin))
    token(http, app)
    token(http, app)
    assert http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     auth=(app.id, "wrong-secret")).status_code == 401
    summary = http.get(f"{CLIENTS}/{app.id}/usage/summary", headers=headers,
                       params={"days": 7})
    assert summary.status_code == 200, summary.text
    assert summary.json()["executionId"]
    results = http.get(summary.json()["resultsUri"], headers=headers)
    assert results.status_code == 200, results.text
    assert results.json()["queryStatus"] == "Complete"
    [row] = results.json()["results"]
    assert (row["clientId"], row["status200"], row["status401"], row["requests"]) == (
        app.id, 2, 1, 3)


def test_client_usage_summary_of_unused_client(http: TestClient, headers: dict[str, str],
                                               super_admin: str) -> None:
    app = create_client(http, headers, client_body(super_admin))
    summary = http.get(f"{CLIENTS}/{app.id}/usage/summary", headers=headers)
    [row] = http.get(summary.json()["resultsUri"], headers=headers).json()["results"]
    assert (row["status200"], row["status401"]) == (0, 0)


def test_client_usage_counts_expired_tokens_by_day_and_forgets_them_after_a_year(
        clocked: TestClient, clock: ManualClock) -> None:
    admin = bootstrap(clocked, name="usage admin", roles=["Super Admin"])
    app = service(clocked)
    clock.now = clock.now.replace(hour=12)  # noon: the hours below stay on one UTC day

    def issued(days: int) -> int:
        summary = clocked.get(f"{CLIENTS}/{app.id}/usage/summary", params={"days": days},
                              headers=bearer(token(clocked, admin)))
        results = clocked.get(summary.json()["resultsUri"], headers=bearer(token(clocked, admin)))
        assert results.status_code == 200, results.text
        return int(results.json()["results"][0]["status200"])

    token(clocked, app)
    token(clocked, app)
    clock.advance(2 * 86_400)  # both expired long ago, and housekeeping has run since
    run(clocked, housekeeping)
    token(clocked, app)
    assert [issued(1), issued(2), issued(3), issued(USAGE_DAYS)] == [1, 1, 3, 3]
    clock.advance(USAGE_DAYS * 86_400)
    run(clocked, housekeeping)
    assert issued(USAGE_DAYS) == 0


@pytest.mark.parametrize("days", ["0", "367", "week", "-1", "\u00b2"])
def test_client_usage_summary_days_out_of_range(http: TestClient, headers: dict[str, str],
                                                admin: Registered, days: str) -> None:
    response = http.get(f"{CLIENTS}/{admin.id}/usage/summary", headers=headers,
                        params={"days": days})
    assert refused(response) == [("days", "out.of.range")]


def test_client_usage_summary_unknown_client(http: TestClient, headers: dict[str, str]) -> None:
    response = http.get(f"{CLIENTS}/00000000-0000-0000-0000-000000000000/usage/summary",
                        headers=headers)
    assert refused(response, 404) == []


@pytest.mark.parametrize("execution", ["bogus", "summary-0", "summary-\u00b2"])
def test_client_usage_results_unknown_execution(http: TestClient, headers: dict[str, str],
                                                admin: Registered, execution: str) -> None:
    response = http.get(f"{CLIENTS}/{admin.id}/usage/query/results/{execution}",
                        headers=headers)
    assert refused(response) == [("executionId", "invalid.value")]
