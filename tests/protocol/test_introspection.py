"""POST /oauth/introspect over HTTP (RFC 7662)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.testclient import TestClient

from tests.support.clients import Registered, bootstrap, service, set_state, update_client
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.tokens import (
    TOKEN_FORMATS,
    TokenMaker,
    bearer,
    challenge,
    introspect,
    revoke,
    revoked_token,
    token,
    token_of_client_in,
    token_of_deleted_client,
)


@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
def test_introspect_active_token_fields(http: TestClient, admin: Registered,
                                        token_format: str) -> None:
    svc = service(http, token_format)
    value = token(http, svc, scope="oauth:readonly")
    response = introspect(http, admin, value)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == svc.id
    assert body["sub"] == svc.id
    assert body["scope"] == "oauth:readonly"
    assert body["token_type"] == "Bearer"
    assert body["iss"] == "http://testserver"
    assert body["exp"] - body["iat"] == 3600
    assert abs(body["iat"] - datetime.now(UTC).timestamp()) < 60
    oauth_admin = role_id(http, bearer(token(http, admin)), "OAuth Admin")
    assert [r["roleId"] for r in body["roles"]] == [oauth_admin]


def test_introspect_own_token(http: TestClient, admin: Registered) -> None:
    response = introspect(http, admin, token(http, admin))
    assert response.json()["active"] is True


def test_introspect_accepts_client_secret_post(http: TestClient, admin: Registered) -> None:
    poster = bootstrap(http, name="rs", roles=["OAuth Admin"],
                       tokenEndpointAuthMethod="client_secret_post")
    response = http.post("/oauth/introspect", data={
        "token": token(http, admin), "client_id": poster.id, "client_secret": poster.secret})
    assert response.status_code == 200
    assert response.json()["active"] is True


def test_introspect_wrong_hint_still_finds_the_token(http: TestClient, admin: Registered) -> None:
    # RFC 7662 §2.1: the hint only helps; a wrong one MUST NOT hide the token.
    response = introspect(http, admin, token(http, admin), token_type_hint="refresh_token")
    assert response.json()["active"] is True


UNKNOWN_BASIC = {"Authorization": "Basic " + base64.b64encode(b"unknown-client:secret").decode()}


@pytest.mark.parametrize(("form", "headers"), [
    pytest.param({"token": "x"}, {}, id="7662-2.1-no-client-authentication"),
    pytest.param({"token": "x"}, UNKNOWN_BASIC, id="7662-2.1-unknown-client"),
    pytest.param({"token": "x", "client_id": "c"}, {}, id="7662-2.1-client_id-only"),
])
def test_introspect_requires_client_authentication(http: TestClient, form: dict[str, str],
                                                   headers: dict[str, str]) -> None:
    response = http.post("/oauth/introspect", data=form, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert challenge(response, "Basic")["realm"]
    assert response.headers["cache-control"] == "no-store"
    assert "active" not in response.json()


def test_introspect_with_wrong_secret_reveals_nothing(http: TestClient, admin: Registered) -> None:
    value = token(http, admin)
    response = introspect(http, Registered(admin.id, admin.secret + "x"), value)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert "active" not in response.json()


def test_introspect_by_disabled_client_is_refused(http: TestClient, admin: Registered) -> None:
    caller = service(http)
    set_state(http, bearer(token(http, admin)), caller.id, "disabled")
    response = introspect(http, caller, token(http, admin))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(("form", "status", "error"), [
    pytest.param({}, 400, "invalid_request", id="7662-2.1-missing-token"),
    pytest.param({"token": ""}, 400, "invalid_request", id="6749-3.2-empty-token-is-omitted"),
])
def test_introspect_rejects(http: TestClient, admin: Registered, form: dict[str, str],
                            status: int, error: str) -> None:
    response = http.post("/oauth/introspect", data=form, auth=admin.basic_auth)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["cache-control"] == "no-store"


def test_introspect_repeated_token_is_invalid_request(http: TestClient, admin: Registered) -> None:
    response = http.post("/oauth/introspect", content=b"token=a&token=b", auth=admin.basic_auth,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_introspect_json_body_is_invalid_request(http: TestClient, admin: Registered) -> None:
    response = http.post("/oauth/introspect", json={"token": "a"}, auth=admin.basic_auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


# -- RFC 7662 §2.2: anything not valid is {"active": false} and nothing more --

def _unknown(_http: TestClient, _admin: Registered, _fmt: str) -> str:
    return "not-a-token-" + uuid.uuid4().hex


def _revoked_via_api(http: TestClient, _admin: Registered, fmt: str) -> str:
    value = token(http, service(http, fmt))
    assert http.delete("/api/v2/tokens/me", headers=bearer(value)).status_code == 204
    return value


def _reenabled(http: TestClient, admin: Registered, fmt: str) -> str:
    # Re-enabling a disabled client must not bring its old tokens back.
    svc = service(http, fmt)
    value = token(http, svc)
    headers = bearer(token(http, admin))
    set_state(http, headers, svc.id, "disabled")
    set_state(http, headers, svc.id, "active")
    return value


def _tampered(http: TestClient, _admin: Registered, fmt: str) -> str:
    value = token(http, service(http, fmt))
    if fmt == "opaque":
        return ("B" if value[0] == "A" else "A") + value[1:]
    # Widen the scope in the payload and keep the original signature.
    header, _payload, signature = value.split(".")
    claims = _claims(http, value) | {"scope": "oauth authorization users"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _claims(http: TestClient, value: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
    return dict(jwt.decode(value, keys, algorithms=["ES256"]).claims)


def _forged_jwt(http: TestClient, _admin: Registered, fmt: str) -> str:
    """A JWT signed by another key, naming our kid and a live token's jti (or opaque value)."""
    real = token(http, service(http, fmt))
    kid = http.get("/oauth/jwks").json()["keys"][0]["kid"]
    claims = _claims(http, real) if fmt == "jwt" else {
        "jti": real, "iss": "http://testserver", "sub": "x", "client_id": "x",
        "scope": "oauth", "exp": 4102444800, "iat": 1700000000}
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims,
                      ECKey.generate_key("P-256"), algorithms=["ES256"])


def _unsigned_jwt(http: TestClient, _admin: Registered, fmt: str) -> str:
    real = token(http, service(http, fmt))
    if fmt == "opaque":
        return real + ".e30."
    header, payload, _signature = real.split(".")
    return f"{header}.{payload}."


def _not_ascii(_http: TestClient, _admin: Registered, _fmt: str) -> str:
    return "d\u00fcrer.\u00e9t\u00e9.\u2603"


def _oversized(_http: TestClient, _admin: Registered, _fmt: str) -> str:
    return "a" * 10_000


@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
@pytest.mark.parametrize("make", [
    pytest.param(_unknown, id="7662-2.2-unknown"),
    pytest.param(revoked_token, id="7662-2.2-revoked-7009"),
    pytest.param(_revoked_via_api, id="7662-2.2-revoked-via-tokens-me"),
    pytest.param(token_of_client_in("disabled"), id="7662-2.2-client-disabled"),
    pytest.param(token_of_client_in("inactive"), id="7662-2.2-client-inactive"),
    pytest.param(token_of_deleted_client, id="7662-2.2-client-deleted"),
    pytest.param(_reenabled, id="7662-2.2-client-disabled-then-reenabled"),
    pytest.param(_tampered, id="7662-2.2-tampered"),
    pytest.param(_forged_jwt, id="7662-2.2-jwt-signed-by-another-key"),
    pytest.param(_unsigned_jwt, id="7662-2.2-jwt-without-signature"),
    pytest.param(_oversized, id="7662-2.2-oversized"),
    pytest.param(_not_ascii, id="7662-2.2-not-ascii"),
])
def test_introspect_inactive_says_only_active_false(http: TestClient, admin: Registered,
                                                    make: TokenMaker, token_format: str) -> None:
    value = make(http, admin, token_format)
    response = introspect(http, admin, value)
    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert response.headers["cache-control"] == "no-store"


def test_introspect_jwt_id_alone_is_not_a_token(http: TestClient, admin: Registered) -> None:
    # The jti is an identifier resource servers log (RFC 9068 §2.2, RFC 7519 §4.1.7); it must
    # not work as the token itself.
    value = token(http, service(http, "jwt"))
    assert introspect(http, admin, _claims(http, value)["jti"]).json() == {"active": False}


def test_introspect_scope_shrinks_when_the_client_loses_a_scope(http: TestClient,
                                                                admin: Registered) -> None:
    svc = service(http)
    value = token(http, svc)
    changed = update_client(http, bearer(token(http, admin)), svc.id, scope=["audits:readonly"])
    assert changed.status_code == 200, changed.text
    assert introspect(http, admin, value).json()["scope"] == "audits:readonly"


def test_introspect_other_tokens_of_the_client_stay_active_after_one_is_revoked(
        http: TestClient, admin: Registered) -> None:
    svc = service(http)
    first, second = token(http, svc), token(http, svc)
    revoke(http, svc, first)
    assert introspect(http, admin, first).json() == {"active": False}
    assert introspect(http, admin, second).json()["active"] is True


# -- expiry, with a clock the test controls --

@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
def test_introspect_token_is_active_until_it_expires(clocked: TestClient, clock: ManualClock,
                                                     token_format: str) -> None:
    caller = bootstrap(clocked, name="rs", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    svc = service(clocked, token_format)
    value = token(clocked, svc)
    clock.advance(3599)
    assert introspect(clocked, caller, value).json()["active"] is True
    clock.advance(1)
    assert introspect(clocked, caller, value).json() == {"active": False}
