"""Who a token is for (issue 9 §2): ``aud`` in JWTs (RFC 9068 §2.2) and in introspection
(RFC 7662 §2.2), decided at issuance; the management API refuses tokens not for it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from keystead.protocol.keys import ALG
from keystead.protocol.opaque import OpaqueTokens
from keystead.protocol.tokens import TokenService
from keystead.web.runtime import Runtime
from tests.oauth_flows import (
    REDIRECT_URI,
    answer_of,
    authorize,
    code_client,
    pkce_pair,
    signed_in_person,
    user_tokens,
)
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.tokens import TOKEN_FORMATS, bearer, challenge, introspect, token

SCOPES = "/api/v2/oauth/scopes"
API = "http://testserver/api/v2"
ISSUER = "http://testserver"
BILLING = "https://billing.example.com/api"


def _aud_claim(http: TestClient, value: str) -> Any:
    keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
    return jwt.decode(value, keys, algorithms=[ALG]).claims["aud"]


def _scope(http: TestClient, headers: dict[str, str], scope_id: str,
           resource_server: str | None) -> None:
    body: dict[str, Any] = {"id": scope_id, "description": "custom"}
    if resource_server is not None:
        body["resourceServer"] = resource_server
    response = http.post(SCOPES, headers=headers, json=body)
    assert response.status_code == 200, response.text


def _billing_service(http: TestClient, headers: dict[str, str], fmt: str,
                     resource_server: str | None = BILLING) -> Registered:
    """A client holding OAuth Admin, a built-in scope and the custom ``invoices`` scope."""
    _scope(http, headers, "invoices", resource_server)
    return bootstrap(http, name="billing", roles=["OAuth Admin"], tokenFormat=fmt,
                     scopes=["oauth:readonly", "invoices"])


def _refused_by_the_api(http: TestClient, value: str) -> None:
    for path in (CLIENTS, "/api/v2/tokens/me"):
        response = http.get(path, headers=bearer(value))
        assert response.status_code == 401, (path, response.text)
        assert challenge(response)["error"] == "invalid_token"


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_audience_of_builtin_scopes_is_the_management_api(http: TestClient, admin: Registered,
                                                         fmt: str) -> None:
    svc = bootstrap(http, name="svc", roles=["OAuth Admin"], tokenFormat=fmt,
                    scopes=["oauth:readonly"])
    value = token(http, svc)
    assert introspect(http, admin, value).json()["aud"] == [API]
    if fmt == "jwt":
        assert _aud_claim(http, value) == [API]
    assert http.get(CLIENTS, headers=bearer(value)).status_code == 200


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_audience_of_a_custom_scope_is_its_resource_server_and_the_api_refuses_it(
        http: TestClient, admin: Registered, headers: dict[str, str], fmt: str) -> None:
    svc = _billing_service(http, headers, fmt)
    value = token(http, svc, scope="invoices")
    assert introspect(http, admin, value).json()["aud"] == [BILLING]
    if fmt == "jwt":
        assert _aud_claim(http, value) == [BILLING]
    # The client's role would allow the call: the audience alone refuses it.
    _refused_by_the_api(http, value)


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_audience_of_mixed_scopes_lists_both_and_the_api_accepts_it(
        http: TestClient, admin: Registered, headers: dict[str, str], fmt: str) -> None:
    svc = _billing_service(http, headers, fmt)
    value = token(http, svc, scope="oauth:readonly invoices")
    assert introspect(http, admin, value).json()["aud"] == sorted([API, BILLING])
    if fmt == "jwt":
        assert _aud_claim(http, value) == sorted([API, BILLING])
    assert http.get(CLIENTS, headers=bearer(value)).status_code == 200


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_audience_of_a_custom_scope_without_resource_server_is_the_issuer(
        http: TestClient, admin: Registered, headers: dict[str, str], fmt: str) -> None:
    svc = _billing_service(http, headers, fmt, resource_server=None)
    value = token(http, svc, scope="invoices")
    assert introspect(http, admin, value).json()["aud"] == [ISSUER]
    if fmt == "jwt":
        assert _aud_claim(http, value) == [ISSUER]
    _refused_by_the_api(http, value)


def test_audience_follows_a_changed_resource_server_for_new_tokens_only(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    svc = _billing_service(http, headers, "opaque")
    before = token(http, svc, scope="invoices")
    moved = "https://invoices.example.com"
    response = http.put(f"{SCOPES}/invoices", headers=headers,
                        json={"id": "invoices", "resourceServer": moved})
    assert response.status_code == 200, response.text
    after = token(http, svc, scope="invoices")
    assert introspect(http, admin, after).json()["aud"] == [moved]
    assert introspect(http, admin, before).json()["aud"] == [BILLING]  # decided at issuance


def test_audience_of_a_code_grant_user_token_includes_the_api(http: TestClient) -> None:
    client = code_client(http, scopes=("oauth:readonly",))
    signed_in_person(http, "boss@example.com", roles=("Super Admin",))
    issued = user_tokens(http, client, scope="openid oauth:readonly")
    response = http.get(CLIENTS, headers=bearer(issued["access_token"]))
    assert response.status_code == 200, response.text
    checker = bootstrap(http, name="checker", roles=["OAuth Admin"])
    assert introspect(http, checker, issued["access_token"]).json()["aud"] == sorted(
        [API, ISSUER])


def _legacy_opaque(runtime: Runtime, client_id: str, scope: str) -> str:
    """A token in the sealed format before audiences: six fields."""
    now_us = int(runtime.clock().timestamp() * 1_000_000)
    plain = "\x1f".join((client_id, "", scope, str(now_us), str(now_us + 600_000_000), ""))
    opaque: OpaqueTokens = runtime.tokens.opaque
    legacy = opaque._legacy  # the pre-ring single key, which sealed ks1 tokens
    assert legacy is not None
    nonce = b"\x00" * 11 + b"\x01"
    sealed = nonce + legacy.encrypt(nonce, plain.encode(), b"ks1.")
    return "ks1." + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _legacy_jwt(tokens: TokenService, client_id: str, scope: str) -> str:
    """A JWT signed before audiences: ``aud`` the issuer's bare string."""
    iat = int(tokens.clock().timestamp())
    claims = {"iss": tokens.issuer, "sub": client_id, "aud": tokens.issuer,
              "client_id": client_id, "iat": iat, "exp": iat + 600, "jti": "legacy-jti",
              "scope": scope, "iat_us": iat * 1_000_000, "roles": []}
    return jwt.encode({"alg": ALG, "typ": "at+jwt", "kid": tokens.signer.kid}, claims,
                      tokens.signer.key, algorithms=[ALG])


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_audience_of_a_token_issued_before_audiences_comes_from_its_scopes(
        http: TestClient, admin: Registered, fmt: str) -> None:
    async def mint(runtime: Runtime) -> str:
        if fmt == "jwt":
            return _legacy_jwt(runtime.tokens, admin.id, "oauth:readonly")
        return _legacy_opaque(runtime, admin.id, "oauth:readonly")

    value = run(http, mint)
    assert introspect(http, admin, value).json()["aud"] == [API]
    assert http.get(CLIENTS, headers=bearer(value)).status_code == 200


# -- RFC 8707: the resource parameter picks one audience --

def _token_response(http: TestClient, client: Registered, **form: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                     auth=client.basic_auth)


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_resource_parameter_narrows_the_token_to_that_audience(
        http: TestClient, admin: Registered, headers: dict[str, str], fmt: str) -> None:
    svc = _billing_service(http, headers, fmt)
    response = _token_response(http, svc, resource=BILLING)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "invoices"
    value = response.json()["access_token"]
    assert introspect(http, admin, value).json()["aud"] == [BILLING]
    _refused_by_the_api(http, value)
    for_api = _token_response(http, svc, resource=API, scope="oauth:readonly invoices").json()
    assert for_api["scope"] == "oauth:readonly"
    assert introspect(http, admin, for_api["access_token"]).json()["aud"] == [API]


@pytest.mark.parametrize("resource", [
    pytest.param("https://elsewhere.example.com", id="no-scope-for-it"),
    pytest.param(BILLING + "#frag", id="fragment-8707-2"),
    pytest.param("billing", id="not-absolute"),
])
def test_resource_parameter_for_no_scope_is_invalid_target(
        http: TestClient, headers: dict[str, str], resource: str) -> None:
    svc = _billing_service(http, headers, "opaque")
    response = _token_response(http, svc, resource=resource)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_target")
    assert response.headers["cache-control"] == "no-store"
    # A scope asked for must still be for the resource: no silent widening.
    response = _token_response(http, svc, resource=BILLING, scope="oauth:readonly")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_target")


def test_resource_parameter_repeated_is_invalid_request(
        http: TestClient, headers: dict[str, str]) -> None:
    svc = _billing_service(http, headers, "opaque")
    response = http.post("/oauth/token", content=(
        "grant_type=client_credentials&resource=https%3A%2F%2Fa.example&"
        "resource=https%3A%2F%2Fb.example"), auth=svc.basic_auth,
        headers={"content-type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_resource_parameter_on_a_code_exchange_narrows_the_user_token(http: TestClient) -> None:
    client = code_client(http, scopes=("oauth:readonly",))
    signed_in_person(http, "boss@example.com", roles=("Super Admin",))
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, scope="openid oauth:readonly", pkce=pkce))["code"]
    response = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier, "resource": API})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "oauth:readonly"
    assert "id_token" in body  # what the user authorized is unchanged: only the access token
    checker = bootstrap(http, name="checker", roles=["OAuth Admin"])
    assert introspect(http, checker, body["access_token"]).json()["aud"] == [API]
