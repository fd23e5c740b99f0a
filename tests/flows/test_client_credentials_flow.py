"""The client-credentials flow end to end over real HTTP, driven by stock OAuth client libraries:
discovery (RFC 8414) → token (RFC 6749 §4.4) → API call → introspection (RFC 7662) →
revocation (RFC 7009) → the API refuses the token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session
from starlette.testclient import TestClient

from tests.support.clients import Registered, bootstrap

ME = "/api/v2/tokens/me"
CLIENTS = "/api/v2/oauth/clients"


def discover(base: str) -> dict[str, Any]:
    response = httpx.get(base + "/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    return dict(response.json())


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_flow_authlib_token_call_introspect_revoke(live_server: str, http: TestClient,
                                                   method: str) -> None:
    # Each client registers the one method it uses (tokenEndpointAuthMethod).
    admin = bootstrap(http, name=method, roles=["Super Admin"], tokenEndpointAuthMethod=method)
    meta = discover(live_server)
    with OAuth2Client(admin.id, admin.secret, token_endpoint_auth_method=method,
                      revocation_endpoint_auth_method=method) as oauth:
        issued = oauth.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        assert issued["token_type"] == "Bearer"
        assert issued["expires_in"] == 3600
        assert issued["expires_at"] > 0  # authlib understood the lifetime
        value = issued["access_token"]

        me = oauth.get(live_server + ME)  # authlib sends the Bearer header itself
        assert me.status_code == 200
        assert me.json()["clientId"] == admin.id

        introspected = oauth.introspect_token(meta["introspection_endpoint"], token=value)
        assert introspected.json()["active"] is True

        revoked = oauth.revoke_token(meta["revocation_endpoint"], token=value,
                                     token_type_hint="access_token")
        assert revoked.status_code == 200

        refused = oauth.get(live_server + ME)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert "revoked" in refused.headers["www-authenticate"]
        introspected = oauth.introspect_token(meta["introspection_endpoint"], token=value)
        assert introspected.json() == {"active": False}


def test_flow_authlib_narrow_scope_reads_but_cannot_write(live_server: str,
                                                          admin: Registered) -> None:
    meta = discover(live_server)
    with OAuth2Client(admin.id, admin.secret, scope="oauth:readonly") as oauth:
        issued = oauth.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        assert issued["scope"] == "oauth:readonly"
        assert oauth.get(live_server + CLIENTS).status_code == 200
        written = oauth.post(live_server + CLIENTS, json={"name": "nope"})
        assert written.status_code == 403
        assert 'error="insufficient_scope"' in written.headers["www-authenticate"]


def test_flow_authlib_wrong_secret_raises_invalid_client(live_server: str,
                                                         admin: Registered) -> None:
    from authlib.integrations.base_client import OAuthError

    meta = discover(live_server)
    with OAuth2Client(admin.id, "not-the-secret") as oauth, \
            pytest.raises(OAuthError) as raised:
        oauth.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    assert raised.value.error == "invalid_client"


@pytest.fixture
def oauthlib_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http; the test server listens on loopback without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.mark.usefixtures("oauthlib_over_http")
def test_flow_requests_oauthlib_backend_application(live_server: str, admin: Registered) -> None:
    meta = discover(live_server)
    session = OAuth2Session(client=BackendApplicationClient(client_id=admin.id))
    issued = session.fetch_token(meta["token_endpoint"], client_id=admin.id,
                                 client_secret=admin.secret)
    assert issued["token_type"] == "Bearer"
    assert set(issued["scope"]) >= {"oauth", "oauth:readonly"}  # oauthlib splits the scope
    me = session.get(live_server + ME)
    assert me.status_code == 200
    assert me.json()["clientId"] == admin.id
    session.close()


@pytest.mark.usefixtures("oauthlib_over_http")
def test_flow_requests_oauthlib_scope_subset(live_server: str, admin: Registered) -> None:
    meta = discover(live_server)
    session = OAuth2Session(client=BackendApplicationClient(client_id=admin.id,
                                                            scope=["audits:readonly"]))
    issued = session.fetch_token(meta["token_endpoint"], client_id=admin.id,
                                 client_secret=admin.secret)
    assert issued["scope"] == ["audits:readonly"]
    assert session.get(live_server + CLIENTS).status_code == 403
    session.close()


def test_flow_jwt_token_verifies_against_published_keys(http: TestClient, live_server: str) -> None:
    svc = bootstrap(http, name="jwt svc", roles=["OAuth Admin"], scopes=["oauth:readonly"],
                    tokenFormat="jwt")
    meta = discover(live_server)
    with OAuth2Client(svc.id, svc.secret) as oauth:
        value = oauth.fetch_token(meta["token_endpoint"],
                                  grant_type="client_credentials")["access_token"]
        keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
        claims = jwt.decode(value, keys, algorithms=["ES256"]).claims
        assert claims["iss"] == meta["issuer"] == live_server
        assert claims["client_id"] == svc.id
        assert oauth.get(live_server + ME).status_code == 200
        oauth.revoke_token(meta["revocation_endpoint"], token=value)
        # A JWT that still verifies offline is nonetheless refused by Keystead once revoked.
        assert jwt.decode(value, keys, algorithms=["ES256"]).claims["jti"] == claims["jti"]
        assert oauth.get(live_server + ME).status_code == 401
