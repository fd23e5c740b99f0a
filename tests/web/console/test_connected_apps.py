"""The console's Connected apps page: a signed-in user sees the apps they authorized and revokes
one, which stops its tokens at once and is audited; a forged or cross-site POST revokes nothing,
and no user can touch another user's authorizations."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import code_client, signed_in_person, user_tokens
from tests.people import Person, csrf_of
from tests.support.clients import Registered
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

PAGE = "/admin/connected-apps"
REVOKE = PAGE + "/revoke"
AUTHORIZATIONS = "/api/v2/oauth/authorizations"
EMPTY = "You have not authorized any application."


def _table(page: str) -> str:
    found = re.search(r'<table id="connected-apps">(.*?)</table>', page, re.S)
    assert found, "no table #connected-apps"
    return found.group(1)


def _rows(page: str) -> list[str]:
    """Each row's text, tags dropped and spaces squeezed."""
    body = _table(page).split("<tbody>", 1)[1]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _revoke(http: TestClient, client_id: str, **extra: str) -> Any:
    csrf = csrf_of(http.get(PAGE).text)
    return http.post(REVOKE, data={"client_id": client_id, "csrf_token": csrf, **extra},
                     follow_redirects=False)


def _refresh(http: TestClient, client: Registered, tokens: dict[str, Any]) -> Any:
    return http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})


def _works(http: TestClient, tokens: dict[str, Any]) -> bool:
    status = http.get(AUTHORIZATIONS, headers=bearer(tokens["access_token"])).status_code
    assert status in (200, 401), status
    return status == 200


@pytest.fixture
def ada(http: TestClient) -> Person:
    """Ada, holding no role, signed in to the console on ``http``."""
    return signed_in_person(http, "ada@example.com")


@pytest.fixture
def app(http: TestClient) -> Registered:
    return code_client(http, name="Expense tracker", scopes=("users:readonly", "oauth:readonly"))


@pytest.mark.usefixtures("ada")
def test_connected_apps_lists_each_app_with_its_scopes_and_date(
        http: TestClient, app: Registered) -> None:
    user_tokens(http, app, scope="openid users:readonly")
    page = http.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Connected apps</h1>" in page.text
    [row] = _rows(page.text)
    assert row.startswith("Expense tracker openid — Sign you in and know who you are "
                          "users:readonly — View users ")
    assert "oauth:readonly" not in row  # the app may ask for it, but Ada did not allow it
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC Revoke access$", row), row
    form = re.search(r'<form method="post" action="/admin/connected-apps/revoke"'
                     r' data-confirm="([^"]+)">(.*?)</form>', page.text, re.S)
    assert form, "no revoke form"
    assert html.unescape(form.group(1)).startswith("Revoke access for Expense tracker?")
    assert f'name="client_id" value="{app.id}"' in form.group(2)
    assert 'name="csrf_token"' in form.group(2)


@pytest.mark.usefixtures("ada")
def test_connected_apps_says_when_there_is_none(http: TestClient) -> None:
    page = http.get(PAGE)
    assert page.status_code == 200
    assert _rows(page.text) == [EMPTY]


def test_connected_apps_needs_sign_in(http: TestClient) -> None:
    for response in (http.get(PAGE, follow_redirects=False),
                     http.post(REVOKE, data={"client_id": "x"}, follow_redirects=False)):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.usefixtures("ada")
def test_connected_apps_escapes_an_app_name(http: TestClient) -> None:
    hostile = code_client(http, name='<img src=x onerror="alert(1)">')
    user_tokens(http, hostile, scope="users:readonly")
    page = http.get(PAGE).text
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page


@pytest.mark.usefixtures("ada")
def test_connected_apps_revoke_stops_the_apps_tokens_at_once(
        http: TestClient, app: Registered) -> None:
    tokens = user_tokens(http, app, scope="openid users:readonly")
    response = _revoke(http, app.id)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}?notice=revoked"
    after = http.get(response.headers["location"])
    assert "Access revoked" in after.text
    assert _rows(after.text) == [EMPTY]
    assert not _works(http, tokens)
    assert _refresh(http, app, tokens).json()["error"] == "invalid_grant"


def test_connected_apps_revoke_is_audited_with_the_user_as_actor(
        http: TestClient, ada: Person, app: Registered, admin: Registered) -> None:
    tokens = user_tokens(http, app, scope="users:readonly")
    assert _revoke(http, app.id).status_code == 303
    [event] = audit_events(http, bearer(token(http, admin)), entity_id=app.id,
                           action="authorization.revoke")
    assert event["user"] == {"id": ada.id, "name": "ada@example.com"}
    assert (event["entity"], event["status"]) == (
        {"id": app.id, "name": "Expense tracker"}, "SUCCESS")
    assert tokens["access_token"] not in str(event)


@pytest.mark.usefixtures("ada")
@pytest.mark.parametrize("csrf", [
    pytest.param(None, id="missing"),
    pytest.param("forged-token", id="wrong"),
])
def test_connected_apps_revoke_without_the_csrf_token_revokes_nothing(
        http: TestClient, app: Registered, csrf: str | None) -> None:
    tokens = user_tokens(http, app, scope="users:readonly")
    form = {"client_id": app.id} | ({"csrf_token": csrf} if csrf else {})
    response = http.post(REVOKE, data=form, follow_redirects=False)
    assert response.status_code == 403
    assert "Form refused" in response.text
    assert _works(http, tokens)
    assert _refresh(http, app, tokens).status_code == 200
    assert [row.split(" ")[0] for row in _rows(http.get(PAGE).text)] == ["Expense"]


@pytest.mark.usefixtures("ada")
def test_connected_apps_revoke_of_an_app_not_connected_changes_nothing(
        http: TestClient, app: Registered, admin: Registered) -> None:
    tokens = user_tokens(http, app, scope="users:readonly")
    for client_id in (code_client(http, name="never allowed").id, "no-such-app", "a\x00b"):
        response = _revoke(http, client_id)
        assert response.headers["location"] == f"{PAGE}?notice=not-connected"
    assert "had no access to revoke" in http.get(f"{PAGE}?notice=not-connected").text
    assert _works(http, tokens)
    assert audit_events(http, bearer(token(http, admin)), action="authorization.revoke") == []


def test_connected_apps_never_show_nor_revoke_another_users_apps(
        http: TestClient, ada: Person, app: Registered) -> None:
    private = code_client(http, name="Ada's diary")
    ada_shared = user_tokens(http, app, scope="users:readonly")
    ada_private = user_tokens(http, private, scope="users:readonly")
    signed_in_person(http, "bob@example.com")
    bob_shared = user_tokens(http, app, scope="users:readonly")
    assert [row.split(" — ")[0] for row in _rows(http.get(PAGE).text)] == [
        "Expense tracker users:readonly"]

    # Bob posts Ada's app (and Ada's id, which the page never reads): nothing happens to Ada.
    response = _revoke(http, private.id, user_id=ada.id)
    assert response.headers["location"] == f"{PAGE}?notice=not-connected"
    assert _works(http, ada_private)

    # Bob revokes the app they share: Bob's grant only.
    assert _revoke(http, app.id, user_id=ada.id).headers["location"] == f"{PAGE}?notice=revoked"
    assert not _works(http, bob_shared)
    assert _works(http, ada_shared)
    mine = http.get(AUTHORIZATIONS, headers=bearer(ada_shared["access_token"])).json()
    assert [e["client"]["name"] for e in mine["entities"]] == ["Ada's diary", "Expense tracker"]
