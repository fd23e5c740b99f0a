"""POST /oauth/token with client_credentials over HTTP (RFC 6749 §4.4, §5; RFC 9068 tokens)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from keystead.domain.scopes import BUILTIN_SCOPES
from tests.support.apps import flush_failures
from tests.support.clients import (
    Registered,
    bootstrap,
    code_body,
    create_client,
    delete_client,
    set_state,
)
from tests.support.tokens import bearer, challenge, token

CC = {"grant_type": "client_credentials"}
ISSUER = "http://testserver"


def post_token(http: TestClient, **kwargs: Any) -> httpx2.Response:
    return http.post("/oauth/token", **kwargs)


def service(http: TestClient, **fields: Any) -> Registered:
    fields.setdefault("scopes", ["oauth:readonly", "audits:readonly"])
    return bootstrap(http, name="svc", roles=["OAuth Admin"], **fields)


# -- success (RFC 6749 §4.4.3, §5.1) --

def test_token_client_secret_basic_issues_bearer_token(http: TestClient,
                                                       admin: Registered) -> None:
    response = post_token(http, data=CC, auth=admin.basic_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32
    assert set(body["scope"].split(" ")) == set(BUILTIN_SCOPES)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")


def test_token_client_secret_post_issues_token(http: TestClient) -> None:
    poster = bootstrap(http, name="poster", roles=["OAuth Admin"],
                       tokenEndpointAuthMethod="client_secret_post")
    response = post_token(http, data=CC | {"client_id": poster.id,
                                           "client_secret": poster.secret})
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"


def test_token_basic_beside_client_id_in_body_is_accepted(http: TestClient,
                                                          admin: Registered) -> None:
    # requests-oauthlib and others send client_id in the body as well as Basic credentials.
    response = post_token(http, data=CC | {"client_id": admin.id}, auth=admin.basic_auth)
    assert response.status_code == 200


def test_token_basic_with_urlencoded_credentials_is_accepted(http: TestClient,
                                                             admin: Registered) -> None:
    # RFC 6749 §2.3.1: the id and secret are form-urlencoded inside the Basic value.
    raw = f"{admin.id}:{admin.secret}".replace("-", "%2D").encode()
    response = post_token(http, data=CC,
                          headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})
    assert response.status_code == 200


def test_token_each_request_gets_a_new_token(http: TestClient, admin: Registered) -> None:
    assert token(http, admin) != token(http, admin)


def test_token_expires_in_follows_the_client_validity(http: TestClient) -> None:
    short = service(http, accessTokenValiditySeconds=600)
    response = post_token(http, data=CC, auth=short.basic_auth)
    assert response.json()["expires_in"] == 600


def test_token_scope_defaults_to_all_of_the_clients(http: TestClient) -> None:
    svc = service(http)
    response = post_token(http, data=CC, auth=svc.basic_auth)
    assert set(response.json()["scope"].split(" ")) == {"oauth:readonly", "audits:readonly"}


def test_token_scope_subset_narrows_the_token(http: TestClient, admin: Registered) -> None:
    svc = service(http)
    response = post_token(http, data=CC | {"scope": "audits:readonly"}, auth=svc.basic_auth)
    assert response.status_code == 200
    assert response.json()["scope"] == "audits:readonly"
    introspected = http.post("/oauth/introspect", data={"token": response.json()["access_token"]},
                             auth=admin.basic_auth)
    assert introspected.json()["scope"] == "audits:readonly"


def test_token_scope_repeated_inside_the_value_is_granted_once(http: TestClient) -> None:
    svc = service(http)
    response = post_token(http, data=CC | {"scope": "oauth:readonly oauth:readonly"},
                          auth=svc.basic_auth)
    assert response.json()["scope"] == "oauth:readonly"


def test_token_scope_the_client_lacks_is_invalid_scope(http: TestClient) -> None:
    svc = service(http)
    response = post_token(http, data=CC | {"scope": "oauth:readonly oauth"}, auth=svc.basic_auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
    assert response.headers["cache-control"] == "no-store"
    assert "www-authenticate" not in response.headers


def test_token_refused_does_not_issue_anything(http: TestClient, admin: Registered) -> None:
    svc = service(http)
    post_token(http, data=CC | {"scope": "oauth"}, auth=svc.basic_auth)
    headers = bearer(token(http, admin))
    started = http.get(f"/api/v2/oauth/clients/{svc.id}/usage/summary", params={"days": 1},
                       headers=headers)
    assert started.status_code == 200, started.text
    summary = http.get(started.json()["resultsUri"], headers=headers)
    assert summary.status_code == 200, summary.text
    assert summary.json()["results"][0]["status200"] == 0


# -- RFC 6749 §5.2 error table --

Send = Callable[[TestClient, Registered], dict[str, Any]]


def _basic(form: dict[str, str]) -> Send:
    return lambda _http, admin: {"data": form, "auth": admin.basic_auth}


def _raw(body: str, content_type: str = "application/x-www-form-urlencoded") -> Send:
    return lambda _http, admin: {"content": body.encode(), "auth": admin.basic_auth,
                                 "headers": {"Content-Type": content_type}}


def _header(value: str, form: dict[str, str] = CC) -> Send:
    return lambda _http, _admin: {"data": form, "headers": {"Authorization": value}}


def _basic_and_post(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC | {"client_id": admin.id, "client_secret": admin.secret},
            "auth": admin.basic_auth}


def _not_utf8(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"content": b"grant_type=client_credentials&scope=\xff", "auth": admin.basic_auth,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


def _json_body(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"content": json.dumps(CC).encode(), "auth": admin.basic_auth,
            "headers": {"Content-Type": "application/json"}}


def _wrong_secret(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC, "auth": (admin.id, admin.secret + "x")}


def _unknown_client(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC, "auth": (str(uuid.uuid4()), admin.secret)}


def _post_wrong_secret(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC | {"client_id": admin.id, "client_secret": "not-the-secret"}}


def _latin1_basic(_http: TestClient, _admin: Registered) -> dict[str, Any]:
    # Header bytes outside ASCII reach the app decoded as Latin-1.
    return {"data": CC, "headers": {"Authorization": "Basic d\xfcrer".encode("latin-1")}}


def _no_auth(_http: TestClient, _admin: Registered) -> dict[str, Any]:
    return {"data": CC}


def _client_id_only(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC | {"client_id": admin.id}}


def _overlong_client_id(_http: TestClient, admin: Registered) -> dict[str, Any]:
    return {"data": CC, "auth": ("x" * 5000, admin.secret)}


def _in_state(state: str) -> Send:
    def send(http: TestClient, admin: Registered) -> dict[str, Any]:
        svc = service(http)
        set_state(http, bearer(token(http, admin)), svc.id, state)
        return {"data": CC, "auth": svc.basic_auth}
    return send


def _deleted(http: TestClient, admin: Registered) -> dict[str, Any]:
    svc = service(http)
    delete_client(http, bearer(token(http, admin)), svc.id)
    return {"data": CC, "auth": svc.basic_auth}


def _code_only(http: TestClient, admin: Registered) -> dict[str, Any]:
    web = create_client(http, bearer(token(http, admin)), code_body())
    return {"data": CC, "auth": web.basic_auth}


def _scope_not_held(http: TestClient, _admin: Registered) -> dict[str, Any]:
    return {"data": CC | {"scope": "users"}, "auth": service(http).basic_auth}


PASSWORD = {"grant_type": "password", "username": "alice", "password": "wonderland"}


@pytest.mark.parametrize(("send", "status", "error"), [
    pytest.param(_basic({}), 400, "invalid_request", id="5.2-missing-grant_type"),
    pytest.param(_basic({"scope": "oauth"}), 400, "invalid_request",
                 id="5.2-scope-without-grant_type"),
    pytest.param(_basic({"grant_type": "magic"}), 400, "unsupported_grant_type",
                 id="5.2-unknown-grant"),
    pytest.param(_basic(PASSWORD), 400, "unsupported_grant_type", id="5.2-password-grant"),
    pytest.param(_raw("grant_type=client_credentials&grant_type=client_credentials"), 400,
                 "invalid_request", id="3.2-repeated-grant_type"),
    pytest.param(_raw("grant_type=client_credentials&scope=oauth&scope=users"), 400,
                 "invalid_request", id="3.2-repeated-scope"),
    pytest.param(_not_utf8, 400, "invalid_request", id="3.2-body-not-utf8"),
    pytest.param(_json_body, 400, "invalid_request", id="3.2-json-content-type"),
    pytest.param(_raw("grant_type=client_credentials", "text/plain"), 400, "invalid_request",
                 id="3.2-text-content-type"),
    pytest.param(_raw("grant_type=client_credentials", ""), 400, "invalid_request",
                 id="3.2-no-content-type"),
    pytest.param(_basic_and_post, 400, "invalid_request", id="2.3.1-basic-and-client_secret"),
    pytest.param(_basic(CC | {"scope": 'oauth "quoted"'}), 400, "invalid_scope",
                 id="3.3-malformed-scope"),
    pytest.param(_scope_not_held, 400, "invalid_scope", id="3.3-scope-not-held"),
    pytest.param(_header("Basic %%%not-base64%%%"), 401, "invalid_client",
                 id="2.3.1-malformed-basic"),
    pytest.param(_header("Basic " + base64.b64encode(b"no-colon").decode()), 401,
                 "invalid_client", id="2.3.1-basic-without-colon"),
    pytest.param(_latin1_basic, 401, "invalid_client", id="2.3.1-basic-not-ascii"),
    pytest.param(_no_auth, 401, "invalid_client", id="5.2-no-client-authentication"),
    pytest.param(_client_id_only, 401, "invalid_client", id="5.2-client_id-without-secret"),
    pytest.param(_wrong_secret, 401, "invalid_client", id="5.2-wrong-secret"),
    pytest.param(_post_wrong_secret, 401, "invalid_client", id="5.2-wrong-secret-in-body"),
    pytest.param(_unknown_client, 401, "invalid_client", id="5.2-unknown-client"),
    pytest.param(_overlong_client_id, 401, "invalid_client", id="5.2-overlong-client-id"),
    pytest.param(_in_state("disabled"), 401, "invalid_client", id="5.2-disabled-client"),
    pytest.param(_in_state("inactive"), 401, "invalid_client", id="5.2-inactive-client"),
    pytest.param(_deleted, 401, "invalid_client", id="5.2-deleted-client"),
    pytest.param(_code_only, 400, "unauthorized_client", id="5.2-code-only-client"),
])
def test_token_rejects(http: TestClient, admin: Registered, send: Send, status: int,
                       error: str) -> None:
    response = post_token(http, **send(http, admin))
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in response.json()
    if status == 401:
        # RFC 6749 §5.2: a 401 invalid_client MUST carry WWW-Authenticate.
        assert challenge(response, "Basic")["realm"]
    else:
        assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_token_only_answers_post(http: TestClient, admin: Registered, method: str) -> None:
    response = http.request(method, "/oauth/token", params=CC, auth=admin.basic_auth)
    assert response.status_code == 405


# -- never revealing whether a client exists --

def test_token_invalid_client_is_identical_for_unknown_id_and_wrong_secret(
        http: TestClient, admin: Registered) -> None:
    svc = service(http)
    set_state(http, bearer(token(http, admin)), svc.id, "disabled")
    answers = [
        post_token(http, data=CC, auth=(str(uuid.uuid4()), admin.secret)),
        post_token(http, data=CC, auth=(admin.id, "wrong-" + admin.secret)),
        post_token(http, data=CC, auth=svc.basic_auth),  # right secret, disabled client
    ]
    first = answers[0]
    assert first.status_code == 401

    def shown(response: httpx2.Response) -> dict[str, str]:
        # Every response has its own request id: the one header allowed to differ.
        return {k: v for k, v in response.headers.items() if k != "inin-correlation-id"}

    for other in answers[1:]:
        assert other.status_code == first.status_code
        assert other.content == first.content
        assert shown(other) == shown(first)


# -- failed authentications are audited --

def _failures(http: TestClient, admin: Registered) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    interval = f"{(now - timedelta(hours=1)).isoformat()}/{(now + timedelta(hours=1)).isoformat()}"
    response = http.post("/api/v2/audits/query/realtime", headers=bearer(token(http, admin)),
                         json={"interval": interval, "pageSize": 100, "filters": [
                             {"property": "action", "value": "authenticate"},
                             {"property": "status", "value": "FAILURE"}]})
    assert response.status_code == 200, response.text
    return list(response.json()["entities"])


def test_token_failed_authentication_is_audited_with_reason(http: TestClient,
                                                            admin: Registered) -> None:
    unknown = str(uuid.uuid4())
    post_token(http, data=CC, auth=(admin.id, "tried-secret-aaaaaaaaaaaa"))
    post_token(http, data=CC, auth=(unknown, "tried-secret-bbbbbbbbbbbb"))
    events = {e["entity"]["id"]: e for e in _failures(http, admin)}
    assert set(events) == {admin.id, unknown}
    for event in events.values():
        assert event["status"] == "FAILURE"
        assert event["action"] == "authenticate"
        assert event["context"]["reason"]
        assert event["remoteIp"]
    # The reason tells an admin which it was; the caller got the same answer for both.
    assert events[admin.id]["context"]["reason"] != events[unknown]["context"]["reason"]


def test_token_failed_authentication_audit_never_holds_a_secret(http: TestClient,
                                                                admin: Registered) -> None:
    tried = "tried-secret-" + uuid.uuid4().hex
    post_token(http, data=CC, auth=(admin.id, tried))
    post_token(http, data=CC | {"client_id": admin.id, "client_secret": tried})
    flush_failures(http)  # the second, of the same key, is written in aggregate
    events = _failures(http, admin)
    assert len(events) == 2
    text = json.dumps(events)
    assert tried not in text
    assert admin.secret not in text


def test_token_successful_authentication_is_not_a_failure_event(http: TestClient,
                                                                admin: Registered) -> None:
    post_token(http, data=CC, auth=admin.basic_auth)
    assert _failures(http, admin) == []


# -- JWT access tokens (RFC 9068) --

@pytest.fixture
def jwt_client(http: TestClient) -> Registered:
    return service(http, tokenFormat="jwt")


def _keys(http: TestClient) -> KeySet:
    return KeySet.import_key_set(http.get("/oauth/jwks").json())


def test_token_jwt_format_is_an_rfc9068_access_token(http: TestClient,
                                                     jwt_client: Registered) -> None:
    response = post_token(http, data=CC | {"scope": "oauth:readonly"}, auth=jwt_client.basic_auth)
    assert response.status_code == 200
    body = response.json()
    decoded = jwt.decode(body["access_token"], _keys(http), algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256"
    assert decoded.header["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert decoded.header["kid"] in {k["kid"] for k in http.get("/oauth/jwks").json()["keys"]}
    claims = decoded.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == [f"{ISSUER}/api/v2"]  # a built-in scope: the management API
    assert claims["sub"] == jwt_client.id
    assert claims["client_id"] == jwt_client.id
    assert claims["scope"] == "oauth:readonly"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 3600
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER},
                          jti={"essential": True}).validate(claims)


def test_token_jwt_ids_are_unique(http: TestClient, jwt_client: Registered) -> None:
    keys = _keys(http)
    jtis = {jwt.decode(token(http, jwt_client), keys, algorithms=["ES256"]).claims["jti"]
            for _ in range(5)}
    assert len(jtis) == 5


def test_token_jwt_carries_the_clients_roles(http: TestClient, admin: Registered,
                                             jwt_client: Registered) -> None:
    claims = jwt.decode(token(http, jwt_client), _keys(http), algorithms=["ES256"]).claims
    headers = bearer(token(http, admin))
    client = http.get(f"/api/v2/oauth/clients/{jwt_client.id}", headers=headers).json()
    assert claims["roles"] == [{"roleId": rd["roleId"], "divisionId": rd["divisionId"]}
                               for rd in client["roleDivisions"]]


def test_token_opaque_format_is_not_a_jwt(http: TestClient, admin: Registered) -> None:
    assert token(http, admin).count(".") != 2
