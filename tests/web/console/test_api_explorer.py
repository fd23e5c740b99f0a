"""The API Explorer page, and the narrow way its calls reach the API: the signed-in admin's
session, with the page's CSRF token in a header, from this origin only."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from keystead.web.api.console_calls import HEADER
from tests.people import Console, create_user, sign_in
from tests.support.clock import ManualClock

PAGE = "/admin/api-explorer"
_TOKEN = re.compile(r'data-api-csrf="([^"]+)"')


def _token(console: Console) -> str:
    found = _TOKEN.search(console.http.get(PAGE).text)
    assert found
    return found.group(1)


def test_explorer_lists_operations_with_scope_and_permission(console: Console) -> None:
    page = console.http.get(PAGE)
    assert page.status_code == 200
    assert 'id="op-deleteAnOauthClient"' in page.text
    section = page.text.split('id="op-deleteAnOauthClient"')[1].split("</details>")[0]
    assert "<code>oauth</code>" in section
    assert "<code>oauth:client:delete</code>" in section
    assert 'href="/admin/api-explorer"' in console.http.get("/admin").text  # the nav link
    # An operation on the token itself says so instead of offering a form it would refuse.
    token_me = page.text.split('id="op-inspectMyToken"')[1].split("</details>")[0]
    assert "Needs a bearer token" in token_me
    assert "<form" not in token_me


def test_explorer_needs_sign_in(http: TestClient) -> None:
    response = http.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_console_call_acts_as_the_signed_in_user(console: Console) -> None:
    response = console.http.get("/api/v2/users/me", headers={HEADER: _token(console)})
    assert response.status_code == 200
    assert response.json()["id"] == console.person.id
    listed = console.http.get("/api/v2/oauth/clients", headers={HEADER: _token(console)})
    assert listed.status_code == 200


def test_console_call_needs_the_users_permission(http: TestClient) -> None:
    person = create_user(http, "plain@example.com")  # no roles: no permissions
    sign_in(http, person)
    token = _TOKEN.search(http.get(PAGE).text)
    assert token
    response = http.get("/api/v2/oauth/clients", headers={HEADER: token.group(1)})
    assert response.status_code == 403
    assert response.json()["code"] == "missing.permissions"


@pytest.mark.parametrize("headers", [
    pytest.param({"origin": "https://evil.example"}, id="cross-site-origin"),
    pytest.param({"sec-fetch-site": "cross-site"}, id="cross-site-fetch"),
    pytest.param({"sec-fetch-site": "same-site"}, id="sibling-site-fetch"),
    pytest.param({"origin": "null"}, id="opaque-origin"),
])
def test_console_call_from_another_site_is_refused(console: Console,
                                                   headers: dict[str, str]) -> None:
    token = _token(console)
    response = console.http.post("/api/v2/oauth/scopes", json={"id": "evil:scope"},
                                 headers={HEADER: token, **headers})
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"
    listed = console.http.get("/api/v2/oauth/scopes", headers={HEADER: token})
    assert "evil:scope" not in {s["id"] for s in listed.json()["entities"]}


def test_console_call_same_origin_headers_are_accepted(console: Console) -> None:
    response = console.http.get("/api/v2/users/me", headers={
        HEADER: _token(console), "origin": "http://testserver", "sec-fetch-site": "same-origin"})
    assert response.status_code == 200


@pytest.mark.parametrize("sent", [
    pytest.param("", id="empty-token"),
    pytest.param("0" * 64, id="wrong-token"),
])
def test_console_call_needs_the_sessions_csrf_token(console: Console, sent: str) -> None:
    response = console.http.get("/api/v2/users/me", headers={HEADER: sent})
    assert response.status_code == 401


def test_session_cookie_alone_is_not_a_credential(console: Console) -> None:
    response = console.http.get("/api/v2/users/me")
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]


def test_csrf_token_without_the_session_is_refused(console: Console, http: TestClient) -> None:
    token = _token(console)
    http.cookies.clear()
    assert http.get("/api/v2/users/me", headers={HEADER: token}).status_code == 401


def test_console_call_after_the_idle_timeout_is_refused(console: Console,
                                                        clock: ManualClock) -> None:
    token = _token(console)
    clock.advance(901)
    assert console.http.get("/api/v2/users/me", headers={HEADER: token}).status_code == 401


def test_console_call_is_audited_as_the_user(console: Console) -> None:
    token = _token(console)
    created = console.http.post("/api/v2/oauth/scopes", json={"id": "reports:read"},
                                headers={HEADER: token})
    assert created.status_code == 200, created.text
    found = console.http.get("/admin/audit?entityId=reports:read")
    assert console.person.email in found.text
