"""RFC 7522 at the token endpoint: a client holding SAML2-BEARER trades an assertion from a
trusted identity provider for the named user's token, over plain HTTP and with the Genesys SDK's
``get_saml2bearer_token``. Refusals are ``invalid_grant``; the reason is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from PureCloudPlatformClientV2 import ApiClient, UsersApi
from starlette.testclient import TestClient

from tests.people import create_user
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

IDP = SamlIdp.create(label="grant")
GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"


@pytest.fixture
def admin_headers(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="ops", roles=["Super Admin"])))


@pytest.fixture
def sso_client(http: TestClient, admin_headers: dict[str, str]) -> Registered:
    """A trusted provider, the user Ada linked to it, and a SAML2-BEARER client."""
    provider = http.put("/api/v2/identityproviders/generic", headers=admin_headers, json={
        "name": "Corporate IdP", "issuerURI": IDP.issuer, "certificates": [IDP.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL})
    assert provider.status_code == 200, provider.text
    ada = create_user(http, "ada@example.com")
    linked = http.put(f"/api/v2/users/{ada.id}/identityproviders/{provider.json()['id']}",
                      headers=admin_headers, json={"nameId": "ada@example.com"})
    assert linked.status_code == 200, linked.text
    made = http.post(CLIENTS, headers=admin_headers, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    assert made.status_code == 200, made.text
    return Registered(made.json()["id"], made.json()["secret"])


def _trade(http: TestClient, client: Registered, assertion: str) -> Any:
    return http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": GRANT, "assertion": assertion, "orgName": "keystead"})


def test_an_assertion_buys_the_named_users_token(http: TestClient,
                                                 sso_client: Registered) -> None:
    response = _trade(http, sso_client, IDP.issue(datetime.now(UTC)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    me = http.get("/api/v2/users/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == "ada@example.com"


@pytest.mark.parametrize(("parts", "reason"), [
    pytest.param({"name_id": "nobody@example.com"}, "NameID", id="unknown-user"),
    pytest.param({"audiences": ("https://elsewhere.example/saml",)}, "audience",
                 id="wrong-audience"),
    pytest.param({"recipient": "https://evil.example/oauth/token"}, "ecipient",
                 id="wrong-recipient"),
])
def test_a_refused_assertion_is_invalid_grant_with_the_reason_audited(
        http: TestClient, sso_client: Registered, admin_headers: dict[str, str],
        parts: dict[str, Any], reason: str) -> None:
    response = _trade(http, sso_client, IDP.issue(datetime.now(UTC), **parts))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "the assertion is not valid"}
    refused = audit_events(http, admin_headers, action="saml2-bearer")
    assert len(refused) == 1
    assert reason.lower() in refused[0]["context"]["reason"].lower()


def test_an_assertion_is_redeemed_once(http: TestClient, sso_client: Registered) -> None:
    assertion = IDP.issue(datetime.now(UTC))
    assert _trade(http, sso_client, assertion).status_code == 200
    replayed = _trade(http, sso_client, assertion)
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")


@pytest.mark.usefixtures("sso_client")
def test_a_client_without_the_grant_cannot_trade_assertions(http: TestClient) -> None:
    service = bootstrap(http, name="svc", roles=["OAuth Admin"])
    response = _trade(http, service, IDP.issue(datetime.now(UTC)))
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


def test_genesys_sdk_saml2bearer_token(sso_client: Registered, live_server: str) -> None:
    assertion = IDP.issue(datetime.now(UTC), recipient=f"{live_server}/oauth/token")
    api = ApiClient(host=live_server).get_saml2bearer_token(
        sso_client.id, sso_client.secret, "keystead", assertion)
    assert UsersApi(api).get_users_me().email == "ada@example.com"


PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def test_a_persistent_name_id_names_the_user_through_their_link(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    idp = SamlIdp.create("https://hr.example.com", label="hr")
    provider = http.post("/api/v2/identityproviders/generic", headers=admin_headers, json={
        "name": "HR IdP", "issuerURI": idp.issuer, "certificates": [idp.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": PERSISTENT,
    })
    assert provider.status_code == 200
    made = http.post("/api/v2/users", headers=admin_headers, json={
        "name": "Grace", "email": "grace@example.com", "externalId": "emp-42"})
    assert made.json()["externalId"] == "emp-42"
    twin = http.post("/api/v2/users", headers=admin_headers, json={
        "name": "Twin", "email": "twin@example.com", "externalId": "emp-42"})
    assert twin.status_code == 409
    client = http.post(CLIENTS, headers=admin_headers, json={
        "name": "hr app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    hr = Registered(client.json()["id"], client.json()["secret"])
    # Issue 9: the externalId alone names nobody; the admin links the user to the provider.
    unlinked = _trade(http, hr, idp.issue(datetime.now(UTC), name_id="emp-42",
                                          name_id_format=PERSISTENT))
    assert (unlinked.status_code, unlinked.json()["error"]) == (400, "invalid_grant")
    assert http.put(f"/api/v2/users/{made.json()['id']}/identityproviders/"
                    f"{provider.json()['id']}", headers=admin_headers,
                    json={"nameId": "emp-42"}).status_code == 200
    issued = _trade(http, hr, idp.issue(datetime.now(UTC), name_id="emp-42",
                                        name_id_format=PERSISTENT))
    assert issued.status_code == 200, issued.text
    me = http.get("/api/v2/users/me", headers=bearer(issued.json()["access_token"])).json()
    assert me["email"] == "grace@example.com"
    # An e-mail as a persistent NameID names nobody: one rule per format.
    by_email = _trade(http, hr, idp.issue(datetime.now(UTC), name_id="grace@example.com",
                                          name_id_format=PERSISTENT))
    assert by_email.status_code == 400
