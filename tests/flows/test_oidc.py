"""OpenID Connect over HTTP: the ID token (Core §2, §3.1.3.6-3.1.3.7, §12.2), UserInfo (§5.3) and
discovery (Discovery 1.0 §3), checked the way a relying party checks them, with joserfc against
the published JWKS."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from tests.oauth_flows import (
    REDIRECT_URI,
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    refresh,
    signed_in_person,
    user_tokens,
)
from tests.people import Person
from tests.support.clients import Registered
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, token

ISSUER = "http://testserver"
USERINFO = "/oauth/userinfo"
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def person(http: TestClient) -> Person:
    """A user without roles, who signs in with a password only."""
    return signed_in_person(http, "ada@example.com")


def verified(http: TestClient, id_token: str, client: Registered, *, now: int | None = None,
             **expected: Any) -> jwt.Token:
    """The ID token, its signature checked against /oauth/jwks and its claims as §3.1.3.7 says."""
    keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
    decoded = jwt.decode(id_token, keys, algorithms=["ES256"])
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": client.id},
        "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True},
        **{k: {"essential": True, "value": v} for k, v in expected.items()}}
    jwt.JWTClaimsRegistry(now=now, **options).validate(decoded.claims)
    return decoded


def id_token_of(http: TestClient, client: Registered, *, scope: str = "openid",
                **params: str) -> str:
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, scope=scope, pkce=pkce, **params))["code"]
    response = exchange(http, client, code, pkce=pkce)
    assert response.status_code == 200, response.text
    return str(response.json()["id_token"])


# -- the ID token --

def test_id_token_verifies_against_the_published_keys(http: TestClient, client: Registered,
                                                      person: Person) -> None:
    decoded = verified(http, id_token_of(http, client), client, sub=person.id, azp=client.id)
    assert decoded.header["alg"] == "ES256"
    published = {k["kid"] for k in http.get("/oauth/jwks").json()["keys"]}
    assert decoded.header["kid"] in published
    claims = decoded.claims
    assert claims["iat"] <= claims["exp"]
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] <= claims["iat"]


def test_id_token_echoes_the_nonce(http: TestClient, client: Registered,
                                   person: Person) -> None:
    del person
    nonce = "n-0S6_WzA2Mj"
    verified(http, id_token_of(http, client, nonce=nonce), client, nonce=nonce)


def test_id_token_without_a_nonce_in_the_request_has_none(http: TestClient, client: Registered,
                                                          person: Person) -> None:
    del person
    assert "nonce" not in verified(http, id_token_of(http, client), client).claims


def test_id_token_amr_is_pwd_for_a_password_sign_in(http: TestClient, client: Registered,
                                                    person: Person) -> None:
    del person
    assert verified(http, id_token_of(http, client), client).claims["amr"] == ["pwd"]


def test_id_token_amr_names_mfa_and_otp_after_a_totp_sign_in(http: TestClient,
                                                             client: Registered) -> None:
    admin = signed_in_person(http, "admin@example.com", roles=("OAuth Admin",))
    assert admin.totp_secret is not None  # they enrolled and used TOTP on the way in
    amr = verified(http, id_token_of(http, client), client).claims["amr"]
    assert {"pwd", "mfa", "otp"} <= set(amr)  # RFC 8176


def test_id_token_auth_time_is_when_the_user_signed_in(clocked: TestClient,
                                                       clock: ManualClock) -> None:
    client = code_client(clocked)
    signed_in = int(clock().timestamp())
    signed_in_person(clocked, "ada@example.com")
    clock.advance(120)
    now = int(clock().timestamp())
    claims = verified(clocked, id_token_of(clocked, client), client, now=now).claims
    assert claims["auth_time"] == signed_in
    assert claims["iat"] == signed_in + 120


def test_id_token_is_not_an_access_token(http: TestClient, client: Registered,
                                         person: Person) -> None:
    del person
    response = http.get("/api/v2/users/me", headers=bearer(id_token_of(http, client)))
    assert response.status_code == 401


def test_id_token_from_a_refresh_keeps_subject_audience_and_auth_time(
        http: TestClient, client: Registered, person: Person) -> None:
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce, nonce="n-1"))["code"]
    first = exchange(http, client, code, pkce=pkce).json()
    again = refresh(http, client, first["refresh_token"]).json()
    before = verified(http, first["id_token"], client).claims
    after = verified(http, again["id_token"], client, sub=person.id).claims
    # OIDC Core §12.2: same iss, sub, aud and auth_time; no nonce.
    for claim in ("iss", "sub", "aud", "auth_time"):
        assert after[claim] == before[claim]
    assert "nonce" not in after


def test_id_token_prompt_login_makes_the_user_sign_in_again(http: TestClient,
                                                            client: Registered,
                                                            person: Person) -> None:
    del person
    authorize(http, client.id, pkce=pkce_pair())  # consent
    response = authorize(http, client.id, pkce=pkce_pair(), prompt="login")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login") or answer_of(response).get("error") == "login_required"


def test_id_token_max_age_older_than_the_sign_in_asks_to_sign_in_again(
        clocked: TestClient, clock: ManualClock) -> None:
    client = code_client(clocked)
    signed_in_person(clocked, "ada@example.com")
    authorize(clocked, client.id, pkce=pkce_pair())  # consent
    clock.advance(600)
    response = authorize(clocked, client.id, pkce=pkce_pair(), max_age="60")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# -- UserInfo (§5.3) --

@pytest.mark.parametrize(("scope", "claims"), [
    pytest.param("openid", {"sub"}, id="5.4-openid-sub-only"),
    pytest.param("openid profile", {"sub", "name"}, id="5.4-profile-name"),
    pytest.param("openid email", {"sub", "email", "email_verified"}, id="5.4-email"),
    pytest.param("openid profile email", {"sub", "name", "email", "email_verified"},
                 id="5.4-profile-and-email"),
])
def test_userinfo_releases_claims_by_scope(http: TestClient, client: Registered,
                                           person: Person, scope: str,
                                           claims: set[str]) -> None:
    access = user_tokens(http, client, scope=scope)["access_token"]
    response = http.get(USERINFO, headers=bearer(access))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == claims
    assert body["sub"] == person.id
    if "email" in claims:
        assert body["email"] == "ada@example.com"
    if "name" in claims:
        assert body["name"] == "ada"


def test_userinfo_answers_post_too(http: TestClient, client: Registered,
                                   person: Person) -> None:
    access = user_tokens(http, client, scope="openid")["access_token"]
    response = http.post(USERINFO, headers=bearer(access))
    assert response.status_code == 200
    assert response.json() == {"sub": person.id}


def test_userinfo_sub_is_the_id_tokens_sub(http: TestClient, client: Registered,
                                           person: Person) -> None:
    del person
    body = user_tokens(http, client, scope="openid")
    claims = verified(http, body["id_token"], client).claims
    assert http.get(USERINFO, headers=bearer(body["access_token"])).json()["sub"] == claims["sub"]


def assert_bearer_error(response: httpx2.Response, status: int, error: str | None) -> None:
    assert response.status_code == status
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    if error is not None:
        assert f'error="{error}"' in challenge


def test_userinfo_without_openid_is_insufficient_scope(http: TestClient, client: Registered,
                                                       person: Person) -> None:
    del person
    access = user_tokens(http, client, scope="users:readonly")["access_token"]
    assert_bearer_error(http.get(USERINFO, headers=bearer(access)), 403, "insufficient_scope")


def test_userinfo_with_a_client_token_is_insufficient_scope(http: TestClient,
                                                            admin: Registered) -> None:
    response = http.get(USERINFO, headers=bearer(token(http, admin)))
    assert_bearer_error(response, 403, "insufficient_scope")


@pytest.mark.parametrize("authorization", [
    pytest.param(None, id="6750-3.1-no-token"),
    pytest.param("Bearer not-a-token", id="6750-3.1-unknown-token"),
])
def test_userinfo_without_a_valid_token_is_401(http: TestClient,
                                               authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_bearer_error(http.get(USERINFO, headers=headers), 401, None)


def test_userinfo_stops_when_the_user_is_made_inactive(http: TestClient, client: Registered,
                                                       person: Person,
                                                       headers: dict[str, str]) -> None:
    access = user_tokens(http, client, scope="openid email")["access_token"]
    patched = http.patch(f"/api/v2/users/{person.id}", headers=headers,
                         json={"state": "inactive"})
    assert patched.status_code == 200, patched.text
    assert_bearer_error(http.get(USERINFO, headers=bearer(access)), 401, "invalid_token")


# -- discovery (OpenID Connect Discovery 1.0 §3, RFC 8414, RFC 9207) --

def test_discovery_names_the_issuer_and_its_endpoints(http: TestClient) -> None:
    response = http.get(DISCOVERY)
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == ISSUER
    for name, path in (("authorization_endpoint", "/oauth/authorize"),
                       ("token_endpoint", "/oauth/token"),
                       ("userinfo_endpoint", "/oauth/userinfo"),
                       ("jwks_uri", "/oauth/jwks"),
                       ("revocation_endpoint", "/oauth/revoke"),
                       ("introspection_endpoint", "/oauth/introspect")):
        assert body[name] == ISSUER + path


def test_discovery_says_what_is_supported(http: TestClient) -> None:
    body = http.get(DISCOVERY).json()
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["id_token_signing_alg_values_supported"] == ["ES256"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["response_types_supported"] == ["code"]
    assert body["subject_types_supported"] == ["public"]
    assert {"openid", "profile", "email"} <= set(body["scopes_supported"])
    assert {"authorization_code", "refresh_token"} <= set(body["grant_types_supported"])
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr"} <= set(
        body["claims_supported"])


def test_discovery_endpoints_are_served(http: TestClient, client: Registered) -> None:
    body = http.get(DISCOVERY).json()
    path = body["jwks_uri"].removeprefix(ISSUER)
    assert http.get(path).json()["keys"]
    authorize_path = body["authorization_endpoint"].removeprefix(ISSUER)
    response = http.get(authorize_path, params={
        "response_type": "code", "client_id": client.id, "redirect_uri": REDIRECT_URI,
        "state": "s", "code_challenge": pkce_pair().challenge, "code_challenge_method": "S256"},
        follow_redirects=False)
    assert response.status_code == 303  # to sign in


def test_discovery_agrees_with_the_oauth_metadata(http: TestClient) -> None:
    oidc = http.get(DISCOVERY).json()
    oauth = http.get("/.well-known/oauth-authorization-server").json()
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                 "code_challenge_methods_supported"):
        assert oidc[name] == oauth[name], name
