"""Ids in console addresses: only an id Keystead can hold reaches a page; any other gets the
console's 404 page after the usual sign-in and CSRF checks, as an unknown id does."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.people import Console

UNKNOWN = "3f0c2a4e-9d1b-4c5e-8f7a-0b1c2d3e4f5a"


@pytest.mark.parametrize("id_", [
    pytest.param(UNKNOWN, id="unknown-uuid"),
    pytest.param(UNKNOWN.upper(), id="uuid-spelt-in-capitals"),
    pytest.param("nope", id="not-a-uuid"),
    pytest.param("a%00b", id="nul"),
])
def test_bad_or_unknown_ids_get_the_console_404_page(console: Console, id_: str) -> None:
    for path in (f"/admin/users/{id_}", f"/admin/roles/{id_}", f"/admin/divisions/{id_}",
                 f"/admin/identity-providers/{id_}", f"/admin/integrations/oauth/{id_}/edit"):
        response = console.http.get(path)
        assert (response.status_code, "Not found" in response.text) == (404, True), path
    assert console.post(f"/admin/roles/{id_}/delete").status_code == 404


def test_real_ids_reach_their_pages(console: Console) -> None:
    users = console.http.get("/admin/users")
    assert f"/admin/users/{console.person.id}" in users.text
    assert console.http.get(f"/admin/users/{console.person.id}").status_code == 200
    assert console.http.get(f"/admin/users/{console.person.id.upper()}").status_code == 404


def test_bad_id_sends_a_stranger_to_sign_in(http: TestClient) -> None:
    response = http.get("/admin/users/a%00b", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_bad_id_in_a_form_without_csrf_token_is_refused(console: Console) -> None:
    assert console.http.post("/admin/roles/nope/delete").status_code == 403


def test_scope_ids_may_hold_a_slash_but_not_nul(console: Console) -> None:
    created = console.post("/admin/scopes/new", {"id": "reports/read",
                                                 "description": "Read reports"})
    assert created.url.path == "/admin/scopes/reports/read"
    assert console.http.get("/admin/scopes/reports%2Fread").status_code == 200
    assert console.http.get("/admin/scopes/reports/write").status_code == 404
    assert console.http.get("/admin/scopes/open%00id").status_code == 404
