"""The code + PKCE flow driven by OAuth client libraries nobody here wrote (authlib over httpx and
over requests, requests-oauthlib), against a real uvicorn: discovery → authorization URL → a
browser signs in and allows → the library redeems the callback → the ID token checks out against
the JWKS → UserInfo → refresh → revocation."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from joserfc import jwt
from joserfc.jwk import KeySet
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session
from starlette.testclient import TestClient

from tests.oauth_flows import code_client
from tests.people import Person, create_user
from tests.support.clients import Registered

CALLBACK = "http://127.0.0.1/callback"  # registered without a port; never served (RFC 8252)
SCOPE = "openid profile email users:readonly"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SEALED = re.compile(r'name="request" value="([^"]+)"')


@pytest.fixture
def oauthlib_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http; the test server listens on loopback without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def client(http: TestClient) -> Registered:
    return code_client(http, redirect_uris=(CALLBACK,), scopes=("users:readonly",))


@pytest.fixture
def person(http: TestClient) -> Person:
    return create_user(http, "grace@example.com", name="Grace Hopper")


def discover(base: str) -> dict[str, Any]:
    response = httpx.get(base + "/.well-known/openid-configuration")
    assert response.status_code == 200
    return dict(response.json())


def browser_allows(base: str, authorization_url: str, person: Person) -> str:
    """What a browser does: follow to sign-in, sign in, come back, press Allow. Returns the
    callback URL the server redirected to (not followed: nothing listens there)."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
        to_login = browser.get(authorization_url)
        assert to_login.status_code == 303, to_login.text[:300]
        login_url = to_login.headers["location"]
        assert urlsplit(login_url).path == "/login"
        form = browser.get(login_url)
        back = parse_qs(urlsplit(login_url).query)["next"][0]
        signed_in = browser.post("/login", data={
            "email": person.email, "password": person.password, "next": back,
            "csrf_token": _found(_CSRF, form.text)})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == back
        consent = browser.get(back)
        assert consent.status_code == 200
        assert 'id="allow"' in consent.text
        allowed = browser.post("/oauth/authorize/consent", data={
            "csrf_token": _found(_CSRF, consent.text), "decision": "allow",
            "request": _found(_SEALED, consent.text)})
        assert allowed.status_code == 303
        return str(allowed.headers["location"])


def _found(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    assert match, pattern.pattern
    return match.group(1)


def id_claims(meta: dict[str, Any], id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    decoded = jwt.decode(id_token, keys, algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256"
    return dict(decoded.claims)


# -- authlib --

@pytest.mark.parametrize("session_class", [
    pytest.param(OAuth2Client, id="authlib-httpx"),
    pytest.param(AuthlibSession, id="authlib-requests"),
])
def test_authlib_code_pkce_flow_id_token_userinfo_refresh_revoke(
        live_server: str, client: Registered, person: Person,
        session_class: type[OAuth2Client] | type[AuthlibSession]) -> None:
    meta = discover(live_server)
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    with session_class(client.id, client.secret, scope=SCOPE, redirect_uri=CALLBACK,
                       code_challenge_method="S256") as oauth:
        url, state = oauth.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        assert "code_challenge_method=S256" in url
        callback = browser_allows(live_server, url, person)
        answer = parse_qs(urlsplit(callback).query)
        assert answer["state"] == [state]
        assert answer["iss"] == [meta["issuer"]]  # RFC 9207

        issued = oauth.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                   code_verifier=verifier)
        assert issued["token_type"] == "Bearer"
        assert set(issued["scope"].split()) == set(SCOPE.split())
        claims = id_claims(meta, issued["id_token"])
        assert (claims["iss"], claims["aud"], claims["nonce"], claims["sub"]) == (
            meta["issuer"], client.id, nonce, person.id)

        info = oauth.get(meta["userinfo_endpoint"])  # the library sends the Bearer header
        assert info.status_code == 200
        assert info.json() == {"sub": person.id, "name": "Grace Hopper",
                               "email": "grace@example.com", "email_verified": False}

        refreshed = oauth.refresh_token(meta["token_endpoint"])
        assert refreshed["access_token"] != issued["access_token"]
        assert refreshed["refresh_token"] == issued["refresh_token"]  # confidential: kept
        assert oauth.get(meta["userinfo_endpoint"]).status_code == 200

        revoked = oauth.revoke_token(meta["revocation_endpoint"],
                                     token=refreshed["refresh_token"],
                                     token_type_hint="refresh_token")
        assert revoked.status_code == 200
        assert oauth.get(meta["userinfo_endpoint"]).status_code == 401  # the family is gone
        with pytest.raises(OAuthError) as raised:
            oauth.refresh_token(meta["token_endpoint"])
        assert raised.value.error == "invalid_grant"


def test_authlib_code_without_the_verifier_is_refused(live_server: str, client: Registered,
                                                      person: Person) -> None:
    meta = discover(live_server)
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(client.id, client.secret, scope="openid", redirect_uri=CALLBACK,
                      code_challenge_method="S256") as oauth:
        url, _ = oauth.create_authorization_url(meta["authorization_endpoint"],
                                                code_verifier=verifier)
        callback = browser_allows(live_server, url, person)
        # A code stolen from the callback is useless without the verifier (RFC 7636 §1).
        with pytest.raises(OAuthError) as raised:
            oauth.fetch_token(meta["token_endpoint"], authorization_response=callback,
                              code_verifier=secrets.token_urlsafe(48))
        assert raised.value.error == "invalid_grant"


# -- requests-oauthlib --

@pytest.mark.usefixtures("oauthlib_over_http")
def test_requests_oauthlib_code_pkce_flow_id_token_userinfo_refresh(
        live_server: str, client: Registered, person: Person) -> None:
    meta = discover(live_server)
    session = OAuth2Session(client.id, redirect_uri=CALLBACK, scope=SCOPE.split(), pkce="S256")
    url, state = session.authorization_url(meta["authorization_endpoint"])
    assert "code_challenge=" in url
    callback = browser_allows(live_server, url, person)
    issued = session.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                 client_secret=client.secret)
    assert issued["token_type"] == "Bearer"
    assert set(issued["scope"]) == set(SCOPE.split())  # oauthlib splits the scope
    claims = id_claims(meta, issued["id_token"])
    assert (claims["aud"], claims["sub"], claims["amr"]) == (client.id, person.id, ["pwd"])
    assert parse_qs(urlsplit(callback).query)["state"] == [state]

    me = session.get(live_server + "/api/v2/users/me")
    assert me.status_code == 200
    assert me.json()["email"] == "grace@example.com"
    assert session.get(meta["userinfo_endpoint"]).json()["sub"] == person.id

    refreshed = session.refresh_token(meta["token_endpoint"],
                                      auth=HTTPBasicAuth(client.id, client.secret))
    assert refreshed["access_token"] != issued["access_token"]
    assert session.get(meta["userinfo_endpoint"]).status_code == 200
    session.close()


@pytest.mark.usefixtures("oauthlib_over_http")
def test_requests_oauthlib_sees_the_refusal_of_a_request_without_pkce(
        live_server: str, client: Registered) -> None:
    meta = discover(live_server)
    session = OAuth2Session(client.id, redirect_uri=CALLBACK, scope=["openid"])
    url, _ = session.authorization_url(meta["authorization_endpoint"])
    refused = httpx.get(url, follow_redirects=False)
    assert refused.status_code == 303
    callback = refused.headers["location"]
    assert callback.startswith(CALLBACK + "?")
    with pytest.raises(OAuth2Error) as raised:  # PKCE is required
        session.fetch_token(meta["token_endpoint"], authorization_response=callback,
                            client_secret=client.secret)
    assert raised.value.error == "invalid_request"
    session.close()
