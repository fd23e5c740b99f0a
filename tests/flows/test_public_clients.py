"""Public clients (RFC 6749 §2.1; RFC 8252; RFC 9700 §2.1.1, §4.14.2): SPAs and native apps get
no secret, name themselves at the token endpoint, always use PKCE, and their refresh tokens
rotate with reuse detection."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.oauth_flows import (
    REDIRECT_URI,
    after_grace,
    answer_of,
    authorize,
    exchange,
    pkce_pair,
)
from tests.people import Console, create_user, sign_in
from tests.support.clients import CLIENTS, bootstrap, code_body
from tests.support.tokens import bearer, introspect, token


@pytest.fixture
def admin_headers(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="ops", roles=["Super Admin"])))


def _public(http: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = http.post(CLIENTS, headers=headers, json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"], clientType="public",
        **fields))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def spa(http: TestClient, admin_headers: dict[str, str]) -> str:
    """A public client's id; its user is signed in on ``http``."""
    client = _public(http, admin_headers)
    sign_in(http, create_user(http, "user@example.com"))
    return str(client["id"])


def _tokens(http: TestClient, client_id: str) -> dict[str, Any]:
    pkce = pkce_pair()
    code = answer_of(authorize(http, client_id, pkce=pkce))["code"]
    response = exchange(http, client_id, code, pkce=pkce)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(http: TestClient, client_id: str, refresh_token: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": client_id,
                                           "refresh_token": refresh_token})


def test_a_public_client_is_created_without_a_secret(http: TestClient,
                                                     admin_headers: dict[str, str]) -> None:
    client = _public(http, admin_headers)
    assert client["clientType"] == "public"
    assert "secret" not in client
    assert client["secrets"] == []
    assert client["requirePkce"] is True


@pytest.mark.parametrize(("fields", "field"), [
    pytest.param({"authorizedGrantTypes": ["CODE", "CLIENT-CREDENTIALS"],
                  "roleDivisions": []}, "clientType", id="no-client-credentials"),
    pytest.param({"requirePkce": False}, "requirePkce", id="pkce-always"),
])
def test_a_public_client_refuses_what_needs_a_secret(http: TestClient,
                                                     admin_headers: dict[str, str],
                                                     fields: dict[str, Any], field: str) -> None:
    response = http.post(CLIENTS, headers=admin_headers, json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"], clientType="public",
        **fields))
    assert response.status_code == 400
    assert field in {d["fieldName"] for d in response.json()["details"]}


def test_a_public_client_has_no_secret_to_regenerate(http: TestClient,
                                                     admin_headers: dict[str, str]) -> None:
    client = _public(http, admin_headers)
    response = http.post(f"{CLIENTS}/{client['id']}/secret", headers=admin_headers, json={})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "clientType"


def test_client_type_is_fixed_at_creation(http: TestClient,
                                          admin_headers: dict[str, str]) -> None:
    client = _public(http, admin_headers)
    body = code_body(registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"],
                     clientType="confidential")
    refused = http.put(f"{CLIENTS}/{client['id']}", headers=admin_headers, json=body)
    assert refused.status_code == 400
    del body["clientType"]  # what the Genesys SDK sends: it does not know the field
    kept = http.put(f"{CLIENTS}/{client['id']}", headers=admin_headers, json=body)
    assert kept.json()["clientType"] == "public"


def test_a_public_client_gets_tokens_with_pkce_and_its_id_alone(http: TestClient,
                                                                spa: str) -> None:
    tokens = _tokens(http, spa)
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    checker = bootstrap(http, name="rs", roles=["OAuth Admin"])
    assert introspect(http, checker, tokens["access_token"]).json()["active"] is True


def test_a_public_client_cannot_skip_pkce(http: TestClient, spa: str) -> None:
    answer = answer_of(authorize(http, spa))
    assert answer["error"] == "invalid_request"
    assert "code" not in answer


def test_a_public_client_cannot_use_client_credentials(http: TestClient, spa: str) -> None:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": spa})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_a_confidential_client_cannot_pass_as_public(http: TestClient) -> None:
    admin = bootstrap(http, name="svc", roles=["OAuth Admin"])
    response = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": admin.id})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_public_refresh_tokens_rotate(http: TestClient, spa: str) -> None:
    first = _tokens(http, spa)
    rotated = _refresh(http, spa, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    again = _refresh(http, spa, rotated.json()["refresh_token"])
    assert again.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
        http: TestClient, spa: str, settings: Settings) -> None:
    first = _tokens(http, spa)
    rotated = _refresh(http, spa, first["refresh_token"]).json()
    with after_grace(settings) as later:  # within the grace: a racing duplicate, no revoke
        replayed = _refresh(later, spa, first["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    # The thief's copy and the legitimate newest tokens are all dead now.
    assert _refresh(http, spa, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    checker = bootstrap(http, name="rs", roles=["OAuth Admin"])
    for access in (first["access_token"], rotated["access_token"]):
        assert introspect(http, checker, access).json()["active"] is False


def test_a_public_client_revokes_its_refresh_token_by_naming_itself(http: TestClient,
                                                                    spa: str) -> None:
    tokens = _tokens(http, spa)
    revoked = http.post("/oauth/revoke", data={"token": tokens["refresh_token"],
                                               "client_id": spa})
    assert revoked.status_code == 200
    assert _refresh(http, spa, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    checker = bootstrap(http, name="rs", roles=["OAuth Admin"])
    assert introspect(http, checker, tokens["access_token"]).json()["active"] is False


def test_the_console_wizard_creates_a_public_client_without_a_secret(console: Console) -> None:
    scopes = console.http.get("/admin/integrations/oauth/new")
    assert scopes.status_code == 200
    response = console.post("/admin/integrations/oauth/new", {
        "step": "3", "action": "save", "name": "mobile app", "grantTypes": "CODE",
        "accessTokenValiditySeconds": "3600", "redirectUris": "com.example.mobile://callback",
        "scopes": "users:readonly", "clientType": "public"})
    assert response.status_code == 200, response.text
    assert "/secret" not in str(response.url)
    assert 'id="no-secret"' in response.text
    assert 'id="client-secret"' not in response.text
