"""Ways to bring dead user tokens back, or to confuse the authorization endpoint, that a
review tried: each is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import (
    REDIRECT_URI,
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    sealed_request_of,
    signed_in_person,
    user_tokens,
)
from tests.people import Person, csrf_of, sign_in
from tests.saml_idp import AUDIENCE, SamlIdp
from tests.support.clients import CLIENTS, Registered, bootstrap, code_body
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, introspect, token

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@pytest.fixture
def admin_headers(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="ops", roles=["Super Admin"])))


def _refresh(http: TestClient, client: Registered, refresh_token: str, **form: str) -> Any:
    return http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, **form})


def test_reactivating_a_user_does_not_revive_their_tokens(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    client = code_client(http)
    person = signed_in_person(http)
    tokens = user_tokens(http, client)
    for state in ("inactive", "active"):
        assert http.patch(f"/api/v2/users/{person.id}", headers=admin_headers,
                          json={"state": state}).status_code == 200
    checker = bootstrap(http, name="rs", roles=["OAuth Admin"])
    assert introspect(http, checker, tokens["access_token"]).json()["active"] is False
    assert _refresh(http, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_re_enabling_a_client_does_not_revive_its_refresh_tokens(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    client = code_client(http)
    signed_in_person(http)
    tokens = user_tokens(http, client)
    body = code_body(registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"])
    for state in ("disabled", "active"):
        assert http.put(f"{CLIENTS}/{client.id}", headers=admin_headers,
                        json=body | {"state": state}).status_code == 200
    assert _refresh(http, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("redirect_uri", [
    pytest.param("http://[::1", id="unclosed-ipv6"),
    pytest.param("http://[x]/cb", id="bad-ipv6"),
    pytest.param("http://[::1]evil.example:8080/callback", id="junk-after-ipv6"),
])
def test_malformed_redirect_uris_get_the_error_page(http: TestClient,
                                                    admin_headers: dict[str, str],
                                                    redirect_uri: str) -> None:
    made = http.post(CLIENTS, headers=admin_headers, json=code_body(
        registeredRedirectUri=["http://[::1]/callback"], scope=["users:readonly"]))
    response = http.get("/oauth/authorize", follow_redirects=False, params={
        "response_type": "code", "client_id": made.json()["id"], "redirect_uri": redirect_uri})
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.usefixtures("admin_headers")
def test_max_age_zero_signs_in_once_then_answers(http: TestClient, clock: ManualClock) -> None:
    client = code_client(http)
    person: Person = signed_in_person(http)
    clock.advance(1)  # the sign-in is a second old: older than max_age=0
    pkce = pkce_pair()
    first = authorize(http, client.id, pkce=pkce, max_age="0")
    assert first.headers["location"].startswith("/login")
    sign_in(http, person)
    # Signing in again lands on the authorization request without max_age: it is answered.
    again = authorize(http, client.id, pkce=pkce)
    assert "code" in answer_of(again)


def test_a_narrowed_refresh_keeps_the_public_refresh_tokens_scope(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    made = http.post(CLIENTS, headers=admin_headers, json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"], clientType="public"))
    spa = made.json()["id"]
    signed_in_person(http)
    pkce = pkce_pair()
    code = answer_of(authorize(http, spa, pkce=pkce))["code"]
    tokens = exchange(http, spa, code, pkce=pkce).json()
    narrowed = http.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": spa, "refresh_token": tokens["refresh_token"],
        "scope": "openid"}).json()
    assert narrowed["scope"] == "openid"
    wide_again = http.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": spa,
        "refresh_token": narrowed["refresh_token"]}).json()
    assert set(wide_again["scope"].split()) == {"openid", "users:readonly"}


def test_the_providers_name_id_format_decides_the_lookup(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    idp = SamlIdp.create("https://hr.example.com", label="hr-format")
    provider = http.post("/api/v2/identityproviders/generic", headers=admin_headers, json={
        "name": "HR", "issuerURI": idp.issuer, "certificates": [idp.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": PERSISTENT}).json()["id"]
    grace = http.post("/api/v2/users", headers=admin_headers, json={
        "name": "Grace", "email": "grace@example.com", "externalId": "emp-7"}).json()["id"]
    # Issue 9: the provider names Grace through her link, not through her externalId.
    assert http.put(f"/api/v2/users/{grace}/identityproviders/{provider}",
                    headers=admin_headers, json={"nameId": "emp-7"}).status_code == 200
    made = http.post(CLIENTS, headers=admin_headers, json={
        "name": "hr app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    hr = Registered(made.json()["id"], made.json()["secret"])

    def trade(name_id: str) -> int:
        assertion = idp.issue(datetime.now(UTC), name_id=name_id, name_id_format=None)
        return int(http.post("/oauth/token", auth=hr.basic_auth, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer",
            "assertion": assertion}).status_code)

    # No Format in the assertion: the provider's "persistent" still applies; the NameID is
    # looked up among the provider's links, where her e-mail names nobody.
    assert trade("emp-7") == 200
    assert trade("grace@example.com") == 400


def test_allow_judges_the_request_against_the_client_as_it_is_now(
        http: TestClient, admin_headers: dict[str, str]) -> None:
    client = code_client(http, scopes=("users:readonly", "oauth:readonly"))
    signed_in_person(http)
    pkce = pkce_pair()
    page = http.get("/oauth/authorize", params={
        "response_type": "code", "client_id": client.id, "redirect_uri": REDIRECT_URI,
        "scope": "oauth:readonly", "state": "s-1", "code_challenge": pkce.challenge,
        "code_challenge_method": "S256"})
    assert page.status_code == 200
    # While the consent page is open, an admin takes the scope away from the client.
    assert http.put(f"{CLIENTS}/{client.id}", headers=admin_headers, json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"])).status_code == 200
    sealed = sealed_request_of(page.text)
    answer = answer_of(http.post("/oauth/authorize/consent", follow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "request": sealed, "decision": "allow"}))
    assert answer["error"] == "invalid_scope"
    assert "code" not in answer


def test_a_users_own_token_cannot_change_their_e_mail_or_password_without_the_current_one(
        http: TestClient) -> None:
    client = code_client(http, scopes=("users",))
    person = signed_in_person(http, "owner@example.com", roles=("Super Admin",))
    headers = bearer(user_tokens(http, client, scope="users")["access_token"])
    me = f"/api/v2/users/{person.id}"
    for change in ({"email": "thief@example.com"},
                   {"email": "thief@example.com", "currentPassword": "not-the-password-1"},
                   {"password": "a-thiefs-new-passphrase-1"}):
        refused = http.patch(me, headers=headers, json=change)
        assert refused.status_code == 400, refused.text
        assert [d["fieldName"] for d in refused.json()["details"]] == ["currentPassword"]
    assert http.get(me, headers=headers).json()["email"] == person.email
    accepted = http.patch(me, headers=headers, json={"email": "owner2@example.com",
                                                     "currentPassword": person.password})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["email"] == "owner2@example.com"
