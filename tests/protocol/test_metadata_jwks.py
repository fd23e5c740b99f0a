"""GET /.well-known/oauth-authorization-server (RFC 8414) and GET /oauth/jwks (RFC 7517)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from keystead.domain.scopes import BUILTIN_SCOPES
from tests.support.clients import Registered, bootstrap
from tests.support.tokens import token

METADATA = "/.well-known/oauth-authorization-server"
# RFC 7518 §6.2.2, §6.3.2, §6.4: members that only a private or symmetric key has.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_metadata_names_issuer_and_endpoints(http: TestClient) -> None:
    response = http.get(METADATA)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["issuer"] == "http://testserver"
    assert body["token_endpoint"] == "http://testserver/oauth/token"
    assert body["introspection_endpoint"] == "http://testserver/oauth/introspect"
    assert body["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert body["jwks_uri"] == "http://testserver/oauth/jwks"


def test_metadata_issuer_has_no_query_or_fragment(http: TestClient) -> None:
    # RFC 8414 §2: the issuer is an https (or here loopback http) URL without query or fragment.
    issuer = urlsplit(http.get(METADATA).json()["issuer"])
    assert (issuer.query, issuer.fragment) == ("", "")
    assert not issuer.path.endswith("/")


def test_metadata_lists_what_the_server_supports(http: TestClient) -> None:
    body = http.get(METADATA).json()
    assert "client_credentials" in body["grant_types_supported"]
    assert "password" not in body["grant_types_supported"]
    assert "implicit" not in body["grant_types_supported"]
    assert "response_types_supported" in body  # RFC 8414 §2: REQUIRED
    methods = {"client_secret_basic", "client_secret_post"}
    # Public clients (no secret) name themselves at the token and revocation endpoints only.
    assert set(body["token_endpoint_auth_methods_supported"]) == {*methods, "none"}
    assert set(body["revocation_endpoint_auth_methods_supported"]) == {*methods, "none"}
    assert set(body["introspection_endpoint_auth_methods_supported"]) == methods
    assert set(BUILTIN_SCOPES) <= set(body["scopes_supported"])


def test_metadata_endpoints_answer(http: TestClient, admin: Registered) -> None:
    body = http.get(METADATA).json()
    issued = http.post(body["token_endpoint"], data={"grant_type": "client_credentials"},
                       auth=admin.basic_auth)
    assert issued.status_code == 200
    value = issued.json()["access_token"]
    introspected = http.post(body["introspection_endpoint"], data={"token": value},
                             auth=admin.basic_auth)
    assert introspected.json()["active"] is True
    assert http.post(body["revocation_endpoint"], data={"token": value},
                     auth=admin.basic_auth).status_code == 200
    assert http.get(body["jwks_uri"]).json()["keys"]


def test_metadata_issuer_follows_the_configured_issuer(live_server: str) -> None:
    # RFC 8414 §3.3: the issuer returned MUST be identical to the one the metadata is fetched for.
    body = httpx.get(live_server + METADATA).json()
    assert body["issuer"] == live_server
    assert body["token_endpoint"] == live_server + "/oauth/token"


def test_metadata_needs_no_authentication(http: TestClient) -> None:
    assert http.get(METADATA, headers={"Authorization": "Bearer garbage"}).status_code == 200


def test_jwks_publishes_public_ec_keys(http: TestClient) -> None:
    response = http.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "EC"
        assert key["crv"] == "P-256"
        assert key["alg"] == "ES256"
        assert key["use"] == "sig"
        assert key["kid"]
        assert key["x"]
        assert key["y"]


def test_jwks_has_no_private_members(http: TestClient) -> None:
    for key in http.get("/oauth/jwks").json()["keys"]:
        assert not PRIVATE_MEMBERS & set(key), sorted(key)


def test_jwks_kids_are_unique(http: TestClient) -> None:
    kids = [k["kid"] for k in http.get("/oauth/jwks").json()["keys"]]
    assert len(kids) == len(set(kids))


def test_jwks_verifies_issued_jwts(http: TestClient) -> None:
    svc = bootstrap(http, name="jwt svc", roles=["OAuth Admin"], scopes=["oauth:readonly"],
                    tokenFormat="jwt")
    keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
    decoded = jwt.decode(token(http, svc), keys, algorithms=["ES256"])
    assert decoded.claims["client_id"] == svc.id


def test_jwks_is_the_same_on_every_replica(http: TestClient, live_server: str) -> None:
    # Every replica must publish the keys that any of them signs with.
    assert httpx.get(live_server + "/oauth/jwks").json() == http.get("/oauth/jwks").json()


@pytest.mark.parametrize("path", ["/oauth/jwks", METADATA])
def test_discovery_documents_are_get_only(http: TestClient, path: str) -> None:
    assert http.post(path).status_code == 405
