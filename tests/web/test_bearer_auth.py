"""Bearer tokens on Keystead's own API (RFC 6750): 401 says why, 403 says what is missing."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from tests.support.clients import Registered, bootstrap, client_body, service
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.tokens import (
    TOKEN_FORMATS,
    TokenMaker,
    bearer,
    challenge,
    introspect,
    revoked_token,
    token,
    token_of_client_in,
    token_of_deleted_client,
)

CLIENTS = "/api/v2/oauth/clients"
ME = "/api/v2/tokens/me"
def assert_invalid_token(response: httpx2.Response, reason: str | None = None) -> None:
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["realm"]
    if reason is not None:
        assert reason in params["error_description"], params
    if response.request.method != "HEAD":
        assert response.json()["status"] == 401
        assert response.json()["code"] == "bad.credentials"


# -- 401: no valid token, and why --

def basic_header(client: Registered) -> str:
    return "Basic " + base64.b64encode(f"{client.id}:{client.secret}".encode()).decode()


@pytest.mark.parametrize("path", [CLIENTS, ME])
@pytest.mark.parametrize("authorization", [
    pytest.param(None, id="6750-3.1-no-token"),
    pytest.param("Bearer", id="6750-2.1-empty-bearer"),
    pytest.param("Bearer not-a-real-token", id="6750-3.1-garbage"),
    pytest.param("Bearer a.b.c", id="6750-3.1-garbage-jwt"),
    pytest.param("Bearer eyJhbGciOiJub25lIn0.e30.", id="6750-3.1-unsigned-jwt"),
    pytest.param("Bearer d\xfcrer.\xe9.\xff", id="6750-3.1-not-ascii"),
    pytest.param("Token abc", id="6750-2.1-other-scheme"),
])
def test_api_rejects_missing_or_garbage_token(http: TestClient, path: str,
                                              authorization: str | None) -> None:
    # Header bytes outside ASCII reach the app decoded as Latin-1.
    headers = {} if authorization is None else {"Authorization": authorization.encode("latin-1")}
    assert_invalid_token(http.get(path, headers=headers))  # type: ignore[arg-type]


def test_api_rejects_client_credentials_as_basic_auth(http: TestClient, admin: Registered) -> None:
    # The API takes access tokens only; a client's own secret is not one.
    assert_invalid_token(http.get(CLIENTS, headers={"Authorization": basic_header(admin)}))


@pytest.mark.parametrize("path", [CLIENTS, ME])
@pytest.mark.parametrize(("make", "reason"), [
    pytest.param(revoked_token, "revoked", id="6750-3.1-revoked"),
    pytest.param(token_of_client_in("disabled"), "disabled", id="6750-3.1-client-disabled"),
    pytest.param(token_of_client_in("inactive"), None, id="6750-3.1-client-inactive"),
    pytest.param(token_of_deleted_client, "deleted", id="6750-3.1-client-deleted"),
])
@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_api_rejects_token_saying_why(http: TestClient, admin: Registered, make: TokenMaker,
                                      reason: str | None, path: str, fmt: str) -> None:
    value = make(http, admin, fmt)
    assert_invalid_token(http.get(path, headers=bearer(value)), reason)


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_api_rejects_expired_token_saying_expired(clocked: TestClient, clock: ManualClock,
                                                  fmt: str) -> None:
    svc = service(clocked, fmt)
    headers = bearer(token(clocked, svc))
    clock.advance(3599)
    assert clocked.get(CLIENTS, headers=headers).status_code == 200
    clock.advance(1)
    assert_invalid_token(clocked.get(CLIENTS, headers=headers), "expired")
    assert_invalid_token(clocked.get(ME, headers=headers), "expired")


def test_api_rejects_a_jwt_id_used_as_the_token(http: TestClient) -> None:
    value = token(http, service(http, "jwt"))
    keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
    jti = jwt.decode(value, keys, algorithms=["ES256"]).claims["jti"]
    assert_invalid_token(http.get(CLIENTS, headers=bearer(jti)))


def test_api_ignores_a_token_in_the_query_string(http: TestClient, admin: Registered) -> None:
    # RFC 6750 §2.3 is optional and leaks tokens into logs; Keystead does not offer it.
    assert_invalid_token(http.get(CLIENTS, params={"access_token": token(http, admin)}))


def test_api_bearer_scheme_is_case_insensitive(http: TestClient, admin: Registered) -> None:
    response = http.get(CLIENTS, headers={"Authorization": "bearer " + token(http, admin)})
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), [
    pytest.param("POST", CLIENTS, {"bogus": True}, id="create-client"),
    pytest.param("PUT", CLIENTS + "/x", {"bogus": True}, id="update-client"),
    pytest.param("POST", CLIENTS + "/x/secret", {"dualUseSeconds": "soon"}, id="rotate-secret"),
    pytest.param("POST", "/api/v2/audits/query/realtime", {}, id="audit-query"),
    pytest.param("POST", "/api/v2/authorization/roles", {}, id="create-role"),
    pytest.param("POST", "/api/v2/authorization/divisions", {}, id="create-division"),
])
def test_api_rejects_a_bad_token_before_reading_the_body(
        http: TestClient, method: str, path: str, body: dict[str, Any]) -> None:
    # RFC 6750 §3.1: no valid token is a 401 whatever the body holds; SDKs refresh their token on
    # 401, not on 400, and anonymous callers learn nothing of the API's input rules.
    response = http.request(method, path, json=body, headers=bearer("expired-or-garbage"))
    assert_invalid_token(response)


# -- 403: the token is valid but not enough --

def test_api_token_without_the_scope_is_insufficient_scope(http: TestClient,
                                                           admin: Registered) -> None:
    narrow = bearer(token(http, admin, scope="oauth:readonly"))
    assert http.get(CLIENTS, headers=narrow).status_code == 200
    role = role_id(http, bearer(token(http, admin)), "OAuth Admin")
    response = http.post(CLIENTS, json=client_body(role), headers=narrow)
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert "oauth" in params["error_description"].split()
    assert http.get(CLIENTS, headers=narrow).json()["total"] == 1


def test_api_readonly_token_cannot_read_the_audit_log(http: TestClient,
                                                      admin: Registered) -> None:
    narrow = bearer(token(http, admin, scope="oauth:readonly"))
    response = http.post("/api/v2/audits/query/realtime", headers=narrow,
                         json={"interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"})
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert "audits:readonly" in params["error_description"].split()


def test_api_managing_scope_implies_reading(http: TestClient, admin: Registered) -> None:
    assert http.get(CLIENTS, headers=bearer(token(http, admin, scope="oauth"))).status_code == 200


@pytest.fixture
def viewer(http: TestClient, admin: Registered) -> Registered:
    """A client whose only role allows oauth:client:view (but whose token has every scope)."""
    created = http.post("/api/v2/authorization/roles", headers=bearer(token(http, admin)),
                        json={"name": "Client Viewer", "permissions": ["oauth:client:view"]})
    assert created.status_code == 200, created.text
    return bootstrap(http, name="viewer", roles=["Client Viewer"])


def test_api_role_without_the_permission_is_insufficient_scope(http: TestClient,
                                                               admin: Registered,
                                                               viewer: Registered) -> None:
    headers = bearer(token(http, viewer))
    assert http.get(CLIENTS, headers=headers).status_code == 200
    body = client_body(role_id(http, bearer(token(http, admin)), "Client Viewer"))
    response = http.post(CLIENTS, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["status"] == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert "oauth:client:add" in params["error_description"].split()
    assert http.get(CLIENTS, headers=headers).json()["total"] == 2


def test_api_role_without_delete_permission_keeps_the_client(http: TestClient, admin: Registered,
                                                             viewer: Registered) -> None:
    response = http.delete(f"{CLIENTS}/{admin.id}", headers=bearer(token(http, viewer)))
    assert response.status_code == 403
    assert challenge(response)["error"] == "insufficient_scope"
    assert http.get(f"{CLIENTS}/{admin.id}",
                    headers=bearer(token(http, admin))).status_code == 200


def test_api_permission_follows_the_clients_roles_now(http: TestClient, admin: Registered,
                                                      viewer: Registered) -> None:
    # A role taken away takes effect on the next call, not when the token expires.
    headers = bearer(token(http, viewer))
    admin_headers = bearer(token(http, admin))
    viewer_role = role_id(http, admin_headers, "Client Viewer")
    change = http.put(f"/api/v2/authorization/roles/{viewer_role}", headers=admin_headers,
                      json={"name": "Client Viewer", "permissions": ["audits:audit:view"]})
    assert change.status_code == 200, change.text
    response = http.get(CLIENTS, headers=headers)
    assert response.status_code == 403
    assert "oauth:client:view" in challenge(response)["error_description"].split()


# -- /api/v2/tokens/me --

@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_tokens_me_describes_the_calling_token(http: TestClient, admin: Registered,
                                               fmt: str) -> None:
    svc = service(http, fmt)
    response = http.get(ME, headers=bearer(token(http, svc, scope="oauth:readonly")))
    assert response.status_code == 200
    body = response.json()
    assert body["clientId"] == svc.id
    assert body["scope"] == ["oauth:readonly"]
    created = datetime.fromisoformat(body["dateCreated"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(body["dateExpires"].replace("Z", "+00:00"))
    assert round((expires - created).total_seconds()) == 3600
    oauth_admin = role_id(http, bearer(token(http, admin)), "OAuth Admin")
    assert [rd["roleId"] for rd in body["roleDivisions"]] == [oauth_admin]
    assert all(rd["divisionId"] for rd in body["roleDivisions"])


def test_tokens_me_head_answers_without_a_body(http: TestClient, admin: Registered) -> None:
    response = http.head(ME, headers=bearer(token(http, admin)))
    assert response.status_code == 200
    assert response.content == b""


def test_tokens_me_head_with_a_bad_token_is_401(http: TestClient) -> None:
    response = http.head(ME, headers=bearer("garbage"))
    assert_invalid_token(response)
    assert response.content == b""


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_tokens_me_delete_revokes_the_calling_token(http: TestClient, admin: Registered,
                                                    fmt: str) -> None:
    svc = service(http, fmt)
    value, other = token(http, svc), token(http, svc)
    response = http.delete(ME, headers=bearer(value))
    assert response.status_code == 204
    assert_invalid_token(http.get(ME, headers=bearer(value)), "revoked")
    assert introspect(http, admin, value).json() == {"active": False}
    assert http.get(ME, headers=bearer(other)).status_code == 200


def test_tokens_me_delete_with_a_revoked_token_is_401(http: TestClient, admin: Registered) -> None:
    value = token(http, admin)
    assert http.delete(ME, headers=bearer(value)).status_code == 204
    assert_invalid_token(http.delete(ME, headers=bearer(value)), "revoked")
