"""The consent page as the person being asked sees it (issue 14): its own layout with the
product's name only, nothing of the admin console, even for an admin; the app's name, the host
the answer sends them to, the scopes in words; and "Not you?", which signs them out and brings
the same authorization request back after the sign-in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from starlette.testclient import TestClient

from keystead.web.authorize import redirect_host
from tests.oauth_flows import REDIRECT_URI, code_client, pkce_pair, signed_in_person
from tests.people import Person, csrf_of
from tests.support.clients import Registered

AUTHORIZE = "/oauth/authorize"
NOT_YOU = "/oauth/authorize/not-you"
ADMIN_LINKS = ('href="/admin', 'id="main-nav"', "Audit log", "OAuth clients", 'action="/logout"')


def _query(client: Registered, **params: str) -> dict[str, str]:
    pkce = pkce_pair()
    return {"response_type": "code", "client_id": client.id, "redirect_uri": REDIRECT_URI,
            "scope": "openid email users:readonly", "state": "s-9",
            "code_challenge": pkce.challenge, "code_challenge_method": "S256", **params}


def _consent(http: TestClient, query: dict[str, str]) -> str:
    page = http.get(f"{AUTHORIZE}?{urlencode(query)}", follow_redirects=False)
    assert page.status_code == 200, page.headers.get("location")
    assert 'id="allow"' in page.text
    return page.text


@pytest.fixture
def person(http: TestClient) -> Person:
    """An admin (Super Admin): the consent page still shows nothing of the console."""
    return signed_in_person(http, "root@example.com", roles=("Super Admin",))


def test_consent_page_has_no_admin_navigation_and_names_host_and_scopes(
        http: TestClient, client: Registered, person: Person) -> None:
    page = _consent(http, _query(client))
    for admin_only in ADMIN_LINKS:
        assert admin_only not in page, admin_only
    assert '<span class="brand">' in page  # the product's name, not a link into the console
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    host = re.search(r'id="redirect-host-name">([^<]+)<', page)
    assert host
    assert host.group(1) == "app.example"  # REDIRECT_URI's host
    scopes = re.search(r'<ul id="requested-scopes"[^>]*>(.*?)</ul>', page, re.S)
    assert scopes
    items = [" ".join(re.sub(r"<[^>]+>", " ", li).split())
             for li in re.findall(r"<li>(.*?)</li>", scopes.group(1), re.S)]
    assert items[:2] == ["Sign you in and know who you are openid", "Your e-mail address email"]
    assert f"Signed in as <strong>{person.email}</strong>" in page
    assert 'id="not-you"' in page


@pytest.mark.usefixtures("person")
def test_error_page_of_the_authorization_endpoint_has_no_admin_navigation(
        http: TestClient, client: Registered) -> None:
    page = http.get(f"{AUTHORIZE}?" + urlencode(_query(client, redirect_uri="https://evil.example/")))
    assert page.status_code == 400
    assert 'id="authorize-error"' in page.text
    for admin_only in ADMIN_LINKS:
        assert admin_only not in page.text, admin_only


@pytest.mark.parametrize(("uri", "shown", "web"), [
    ("https://app.example/cb", "app.example", True),
    ("https://app.example:8443/cb?x=1", "app.example:8443", True),
    ("http://127.0.0.1:54321/callback", "127.0.0.1:54321", True),
    ("http://[::1]:8080/cb", "[::1]:8080", True),
    ("https://user@app.example/cb", "app.example", True),  # never the userinfo
    ("com.example.notes:/oauth/cb", "com.example.notes:", False),
])
def test_redirect_host_is_what_a_person_recognises(uri: str, shown: str, web: bool) -> None:
    assert redirect_host(uri) == (shown, web)


@pytest.mark.usefixtures("person")
def test_not_you_signs_out_and_returns_to_sign_in_for_the_same_request(
        http: TestClient, client: Registered) -> None:
    query = _query(client, prompt="consent", max_age="3600")
    page = _consent(http, query)
    sealed = re.search(r'name="request" value="([^"]+)"', page)
    assert sealed
    out = http.post(NOT_YOU, data={"csrf_token": csrf_of(page), "request": sealed.group(1)},
                    follow_redirects=False)
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert target.path == "/login"
    back = parse_qs(target.query)["next"][0]
    assert urlsplit(back).path == AUTHORIZE
    # The same request; without max_age, which the new sign-in answers (else it would ask
    # again after every sign-in).
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == {
        k: v for k, v in query.items() if k != "max_age"}
    # Signed out: the console and the request both ask for a sign-in now.
    assert http.get("/admin", follow_redirects=False).headers["location"].startswith("/login")
    assert urlsplit(http.get(back, follow_redirects=False).headers["location"]).path == "/login"


@pytest.mark.usefixtures("person")
def test_not_you_needs_the_forms_csrf_token(
        http: TestClient, client: Registered) -> None:
    page = _consent(http, _query(client))
    sealed = re.search(r'name="request" value="([^"]+)"', page)
    assert sealed
    refused = http.post(NOT_YOU, data={"request": sealed.group(1)}, follow_redirects=False)
    assert refused.status_code == 403
    assert http.get("/admin", follow_redirects=False).status_code == 200  # still signed in


@pytest.mark.usefixtures("person")
def test_not_you_with_a_forged_request_signs_out_to_the_plain_sign_in(
        http: TestClient, client: Registered) -> None:
    page = _consent(http, _query(client))
    out = http.post(NOT_YOU, data={"csrf_token": csrf_of(page), "request": "forged"},
                    follow_redirects=False)
    assert out.headers["location"] == "/login?notice=signed-out"
    assert http.get("/admin", follow_redirects=False).status_code == 303


@pytest.fixture
def client(http: TestClient) -> Registered:
    return code_client(http, scopes=("users:readonly",))
