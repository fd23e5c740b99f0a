"""POST /oauth/revoke over HTTP (RFC 7009)."""

from __future__ import annotations

import base64
import uuid

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import code_client, refresh, signed_in_person, user_tokens
from tests.support.clients import Registered, bootstrap
from tests.support.tokens import bearer, challenge, introspect, revoke, token

FORMATS = ["opaque", "jwt"]


def service(http: TestClient, fmt: str = "opaque", name: str = "svc") -> Registered:
    return bootstrap(http, name=name, roles=["OAuth Admin"], scopes=["oauth:readonly"],
                     tokenFormat=fmt)


def is_active(http: TestClient, admin: Registered, value: str) -> bool:
    return bool(introspect(http, admin, value).json()["active"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_revoke_own_token_ends_it_everywhere(http: TestClient, admin: Registered,
                                             fmt: str) -> None:
    svc = service(http, fmt)
    value = token(http, svc)
    assert is_active(http, admin, value)  # read once: that answer must not outlive the revocation
    assert http.get("/api/v2/tokens/me", headers=bearer(value)).status_code == 200
    response = revoke(http, svc, value)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert not is_active(http, admin, value)
    me = http.get("/api/v2/tokens/me", headers=bearer(value))
    assert me.status_code == 401
    assert challenge(me)["error"] == "invalid_token"
    assert "revoked" in challenge(me)["error_description"]


def test_revoke_with_client_secret_post(http: TestClient, admin: Registered) -> None:
    svc = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"],
                    tokenEndpointAuthMethod="client_secret_post")
    value = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": svc.id, "client_secret": svc.secret}
                      ).json()["access_token"]
    response = http.post("/oauth/revoke", data={"token": value, "client_id": svc.id,
                                                "client_secret": svc.secret})
    assert response.status_code == 200
    assert not is_active(http, admin, value)


@pytest.mark.parametrize("hint", ["access_token", "refresh_token"])
def test_revoke_known_hints_still_revoke(http: TestClient, admin: Registered, hint: str) -> None:
    # RFC 7009 §2.1: a wrong hint only means the server extends its search.
    svc = service(http)
    value = token(http, svc)
    assert revoke(http, svc, value, token_type_hint=hint).status_code == 200
    assert not is_active(http, admin, value)


@pytest.mark.parametrize("value", [
    pytest.param("never-issued-" + uuid.uuid4().hex, id="7009-2.2-unknown-opaque"),
    pytest.param("eyJhbGciOiJub25lIn0.e30.", id="7009-2.2-unsigned-jwt"),
    pytest.param("a.b.c", id="7009-2.2-malformed-jwt"),
    pytest.param("x" * 10_000, id="7009-2.2-oversized"),
])
def test_revoke_unknown_token_is_200(http: TestClient, admin: Registered, value: str) -> None:
    # RFC 7009 §2.2: invalid tokens do not cause an error response.
    response = revoke(http, admin, value)
    assert response.status_code == 200
    assert response.content == b""


def test_revoke_twice_is_200(http: TestClient, admin: Registered) -> None:
    svc = service(http)
    value = token(http, svc)
    assert revoke(http, svc, value).status_code == 200
    assert revoke(http, svc, value).status_code == 200
    assert not is_active(http, admin, value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_revoke_another_clients_token_has_no_effect(http: TestClient, admin: Registered,
                                                    fmt: str) -> None:
    owner = service(http, fmt, name="owner")
    other = service(http, name="other")
    value = token(http, owner)
    response = revoke(http, other, value)
    # RFC 7009 §2.1: the server verifies the token was issued to the requesting client; the
    # answer does not tell the other client whether the token exists.
    assert response.status_code == 200
    assert is_active(http, admin, value)
    assert http.get("/api/v2/tokens/me", headers=bearer(value)).status_code == 200


def test_revoke_even_a_super_admin_cannot_revoke_another_clients_token(
        http: TestClient, admin: Registered) -> None:
    svc = service(http)
    value = token(http, svc)
    assert revoke(http, admin, value).status_code == 200
    assert is_active(http, admin, value)


def test_revoke_one_token_leaves_the_clients_others_active(http: TestClient,
                                                          admin: Registered) -> None:
    svc = service(http)
    first, second = token(http, svc), token(http, svc)
    revoke(http, svc, first)
    assert not is_active(http, admin, first)
    assert is_active(http, admin, second)


@pytest.mark.parametrize(("form", "status", "error"), [
    pytest.param({}, 400, "invalid_request", id="7009-2.1-missing-token"),
    pytest.param({"token_type_hint": "access_token"}, 400, "invalid_request",
                 id="7009-2.1-hint-without-token"),
])
def test_revoke_rejects(http: TestClient, admin: Registered, form: dict[str, str], status: int,
                        error: str) -> None:
    response = http.post("/oauth/revoke", data=form, auth=admin.basic_auth)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["cache-control"] == "no-store"
    assert "www-authenticate" not in response.headers


UNKNOWN_HINTS = [
    pytest.param("id_token", id="7009-2.1-hint-of-a-type-not-revocable-here"),
    pytest.param("magic", id="7009-2.1-unknown-hint"),
    pytest.param('a"b\\c', id="7009-2.1-hint-with-quote-and-backslash"),
    pytest.param("h\u00e9", id="7009-2.1-non-ascii-hint"),
]


@pytest.mark.parametrize("hint", UNKNOWN_HINTS)
def test_revoke_ignores_an_unknown_hint_for_an_access_token(http: TestClient, admin: Registered,
                                                            hint: str) -> None:
    # RFC 7009 §2.1: the hint only tells where to look first; the search covers every type.
    svc = service(http)
    value = token(http, svc)
    response = revoke(http, svc, value, token_type_hint=hint)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert not is_active(http, admin, value)


@pytest.mark.parametrize("hint", [*UNKNOWN_HINTS,
                                  pytest.param("access_token", id="7009-2.1-wrong-hint")])
def test_revoke_ignores_an_unknown_or_wrong_hint_for_a_refresh_token(
        http: TestClient, admin: Registered, hint: str) -> None:
    client = code_client(http)
    signed_in_person(http)
    issued = user_tokens(http, client)
    response = revoke(http, client, issued["refresh_token"], token_type_hint=hint)
    assert response.status_code == 200
    assert refresh(http, client, issued["refresh_token"]).json()["error"] == "invalid_grant"
    # §2.1: revoking the refresh token ends the access tokens of the same grant too.
    assert not is_active(http, admin, issued["access_token"])


def test_revoke_unknown_hint_on_an_unknown_token_is_200(http: TestClient,
                                                        admin: Registered) -> None:
    response = revoke(http, admin, "never-issued", token_type_hint="magic")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="7009-2.1-no-client-authentication"),
    pytest.param({"Authorization": "Basic " + base64.b64encode(b"unknown:secret").decode()},
                 id="7009-2.1-unknown-client"),
])
def test_revoke_requires_client_authentication(http: TestClient, admin: Registered,
                                               headers: dict[str, str]) -> None:
    value = token(http, admin)
    response = http.post("/oauth/revoke", data={"token": value}, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert challenge(response, "Basic")["realm"]
    assert is_active(http, admin, value)


def test_revoke_with_wrong_secret_keeps_the_token(http: TestClient, admin: Registered) -> None:
    svc = service(http)
    value = token(http, svc)
    response = revoke(http, Registered(svc.id, svc.secret + "x"), value)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert is_active(http, admin, value)


def test_revoke_repeated_token_parameter_is_invalid_request(http: TestClient,
                                                            admin: Registered) -> None:
    svc = service(http)
    value = token(http, svc)
    response = http.post("/oauth/revoke", content=f"token={value}&token={value}".encode(),
                         auth=svc.basic_auth,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert is_active(http, admin, value)
