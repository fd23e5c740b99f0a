"""Console cookies on an https deployment carry the __Host- prefix (ASVS 3.3.1; RFC 6265bis
§4.1.3.2): Secure, Path=/, no Domain, so a sibling subdomain or a plain-http page cannot plant or
shadow them. Plain http (development) keeps the bare names, which browsers require there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.people import create_user, csrf_of

PASSWORD = "violet-harbour-lantern-7"
HTTPS = "https://keystead.example"


@pytest.fixture
def https(settings: Settings) -> Iterator[TestClient]:
    secure = settings.model_copy(update={"issuer": HTTPS})
    with TestClient(create_app(secure, housekeeping_interval=False), base_url=HTTPS) as http:
        yield http


def set_cookies(headers: list[str]) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {h.split("=", 1)[0]: h for h in headers}


def sign_in(http: TestClient) -> list[str]:
    """Sign in through the pages; the Set-Cookie headers of the password step's answer."""
    create_user(http, "reader@example.com", password=PASSWORD)
    page = http.get("/login")
    response = http.post("/login", follow_redirects=False, data={
        "email": "reader@example.com", "password": PASSWORD,
        "csrf_token": csrf_of(page.text), "next": "/admin"})
    assert response.status_code == 303
    return response.headers.get_list("set-cookie")


def assert_host_only(header: str) -> None:
    attributes = [a.strip().lower() for a in header.split(";")[1:]]
    assert "secure" in attributes
    assert "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes)
    assert "httponly" in attributes


def test_https_pre_session_cookie_is_host_prefixed(https: TestClient) -> None:
    cookies = set_cookies(https.get("/login").headers.get_list("set-cookie"))
    assert set(cookies) == {"__Host-ks_csrf"}
    assert_host_only(cookies["__Host-ks_csrf"])


def test_https_session_cookie_is_host_prefixed_and_works(https: TestClient) -> None:
    cookies = set_cookies(sign_in(https))
    assert "__Host-ks_session" in cookies
    assert "ks_session" not in cookies
    assert_host_only(cookies["__Host-ks_session"])
    assert https.get("/admin", follow_redirects=False).status_code == 200


def test_https_ignores_a_bare_session_cookie(https: TestClient) -> None:
    # A bare-named cookie can be planted by a sibling subdomain or over plain http: it is
    # never read as the session, even when it holds a valid session id.
    sign_in(https)
    session = https.cookies.get("__Host-ks_session")
    assert session
    https.cookies.clear()
    https.cookies.set("ks_session", session)
    response = https.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_https_ignores_a_bare_csrf_cookie(https: TestClient) -> None:
    # The sign-in form's CSRF token is bound to the __Host- cookie; a planted bare one with a
    # token of its own does not make a forged sign-in acceptable.
    create_user(https, "reader@example.com", password=PASSWORD)
    page = https.get("/login")
    planted = "attacker-chosen-value"
    https.cookies.clear()
    https.cookies.set("ks_csrf", planted)
    response = https.post("/login", follow_redirects=False, data={
        "email": "reader@example.com", "password": PASSWORD, "csrf_token": csrf_of(page.text),
        "next": "/admin"})
    assert response.status_code == 403


def test_https_sign_out_expires_the_prefixed_cookie_securely(https: TestClient) -> None:
    sign_in(https)
    page = https.get("/admin")
    response = https.post("/logout", data={"csrf_token": csrf_of(page.text)},
                          follow_redirects=False)
    cookies = set_cookies(response.headers.get_list("set-cookie"))
    assert_host_only(cookies["__Host-ks_session"])
    assert "max-age=0" in cookies["__Host-ks_session"].lower()
    assert https.get("/admin", follow_redirects=False).status_code == 303


def test_plain_http_keeps_bare_cookie_names(http: TestClient) -> None:
    cookies = set_cookies(sign_in(http))
    assert "ks_session" in cookies
    assert "secure" not in cookies["ks_session"].lower()
    assert not any(name.startswith("__Host-") for name in cookies)
