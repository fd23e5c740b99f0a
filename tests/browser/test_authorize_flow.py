"""A user signs in to an app through Keystead in a real browser: the app (a public client, as
an SPA or native app is) sends Chromium to /oauth/authorize with PKCE; the user signs in with a
password, enrols TOTP, allows the app on the consent page, and lands on a loopback callback the
test serves (RFC 8252 §7.3: any port); the app then redeems the code for tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.browser.conftest import OpenBrowser
from tests.browser.console import Server
from tests.people import Person
from tests.support.clients import CLIENTS

REGISTERED = "http://127.0.0.1/callback"


class Callback(BaseHTTPRequestHandler):
    """The app's loopback redirect target: remembers the query it was called with."""

    received: list[dict[str, str]] = []  # noqa: RUF012 - one callback server per test

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        Callback.received.append({k: v[0] for k, v in query.items()})
        body = b"<!doctype html><title>Signed in</title><p id='done'>You can close this tab.</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def callback() -> Iterator[str]:
    Callback.received = []
    httpd = HTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/callback"
    httpd.shutdown()
    httpd.server_close()


def _claims(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(
        payload + "=" * (-len(payload) % 4)))
    return decoded


def test_sign_in_mfa_consent_and_redirect_to_a_loopback_app(
        server: Server, open_browser: OpenBrowser, callback: str) -> None:
    made = server.http.post(CLIENTS, headers=server.headers(), json={
        "name": "Field Notes", "description": "Takes notes for your team",
        "authorizedGrantType": "CODE", "clientType": "public", "scope": ["users:readonly"],
        "registeredRedirectUri": [REGISTERED]})
    assert made.status_code == 200, made.text
    client_id = made.json()["id"]
    person = server.person("ada@example.com", roles=("OAuth Admin",))  # MFA is required
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    user = open_browser(server, person)
    page = user.page

    user.goto("/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": callback,
        "scope": "openid email users:readonly", "state": "st-42", "nonce": "n-42",
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    assert user.path == "/login"
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    user.submit("main button[type=submit]")
    assert user.path == "/login/enrol"
    person.totp_secret = user.text("#totp-secret")
    page.fill("#code", person.next_code())
    user.submit("main button[type=submit]")
    page.check("#stored")
    user.submit("#continue")

    assert user.path == "/oauth/authorize"
    assert user.text("#client-name") == "Field Notes"
    assert "Takes notes for your team" in user.text("#client-description")
    scopes = user.text("#requested-scopes")
    assert "users:readonly" in scopes
    assert "email" in scopes
    user.screenshot("consent.png")
    with page.expect_navigation(url=f"{callback}*"):
        page.click("#allow")
    assert page.inner_text("#done") == "You can close this tab."

    answer = next(a for a in Callback.received if "code" in a)  # not the favicon request
    assert answer["state"] == "st-42"
    assert answer["iss"] == server.url
    tokens = httpx.post(f"{server.url}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": answer["code"], "client_id": client_id,
        "redirect_uri": callback, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    id_token = _claims(tokens.json()["id_token"])
    assert (id_token["aud"], id_token["nonce"], id_token["email"]) == (
        client_id, "n-42", person.email)
    amr = id_token["amr"]
    assert isinstance(amr, list)
    assert {"pwd", "mfa", "otp"} <= set(amr)
    me = httpx.get(f"{server.url}/oauth/userinfo", timeout=10,
                   headers={"authorization": f"Bearer {tokens.json()['access_token']}"})
    assert me.json()["sub"] == person.id


def test_not_you_signs_out_and_someone_else_continues_the_same_request(
        server: Server, open_browser: OpenBrowser, callback: str) -> None:
    made = server.http.post(CLIENTS, headers=server.headers(), json={
        "name": "Field Notes", "authorizedGrantType": "CODE", "clientType": "public",
        "scope": ["users:readonly"], "registeredRedirectUri": [REGISTERED]})
    assert made.status_code == 200, made.text
    client_id = made.json()["id"]
    first = server.person("kim@example.com", roles=())
    second = server.person("lee@example.com", roles=())
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    user = open_browser(server, first)
    page = user.page

    def sign_in_as(person: Person) -> None:
        assert user.path == "/login"
        page.fill("#email", person.email)
        page.fill("#password", person.password)
        user.submit("main button[type=submit]")

    user.goto("/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": callback,
        "scope": "openid email", "state": "st-7", "nonce": "n-7",
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    sign_in_as(first)
    assert user.path == "/oauth/authorize"
    # The person's own page: the product's name, none of the console's menus.
    assert page.locator("#main-nav").count() == 0
    assert page.locator("a[href^='/admin']").count() == 0
    assert user.text("#redirect-host-name") == urlsplit(callback).netloc
    assert first.email in user.text("#signed-in-as")
    user.screenshot("consent-not-you.png")

    user.submit("#not-you")
    assert user.path == "/login"
    assert "You are signed out." in user.text("main")
    sign_in_as(second)
    # The same request, now for the second person.
    assert user.path == "/oauth/authorize"
    assert second.email in user.text("#signed-in-as")
    with page.expect_navigation(url=f"{callback}*"):
        page.click("#allow")
    answer = next(a for a in Callback.received if "code" in a)
    assert answer["state"] == "st-7"
    tokens = httpx.post(f"{server.url}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": answer["code"], "client_id": client_id,
        "redirect_uri": callback, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    id_token = _claims(tokens.json()["id_token"])
    assert (id_token["email"], id_token["nonce"]) == (second.email, "n-7")
