"""Hostile form bodies at every form-reading OAuth endpoint: a clear 4xx, never a 500.

RFC 6749 §5.2 limits error_description to printable ASCII without '"' or '\\', so an error must
never carry the caller's input; these bodies (quotes, backslashes, non-ASCII, NUL, broken
percent-escapes, repeated names) used to turn into a 500 when a repeated name was echoed.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from keystead.protocol.errors import InvalidRequestError
from keystead.protocol.params import parse_form
from tests.support.clients import Registered

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]

# Bodies parse_form refuses before anything else: invalid_request.
REFUSED_BODIES = [
    pytest.param(b"a%22=1&a%22=2", id="repeated-name-with-quote"),
    pytest.param(b"a%5C=1&a%5C=2", id="repeated-name-with-backslash"),
    pytest.param("é=1&é=2".encode(), id="repeated-non-ascii-name-raw"),
    pytest.param(b"%C3%A9=1&%C3%A9=2", id="repeated-non-ascii-name-escaped"),
    pytest.param(b"%E2%80%AE=1&%E2%80%AE=2", id="repeated-bidi-override-name"),
    pytest.param(b"%00=1&%00=2", id="repeated-nul-name"),
    pytest.param(b"a%0A=1&a%0A=2", id="repeated-newline-name"),
    pytest.param(b"%F0%9F%94%91=1&%F0%9F%94%91=", id="repeated-emoji-name-once-empty"),
    pytest.param(b"grant_type=x&grant_type=%22", id="repeated-known-name-quote-value"),
    pytest.param(b"%ff=1", id="escape-to-invalid-utf8-name"),
    pytest.param(b"token=%C3%28", id="escape-to-invalid-utf8-value"),
    pytest.param(b"\xff\xfe=1", id="raw-invalid-utf8"),
]


@pytest.mark.parametrize("body", REFUSED_BODIES)
def test_parse_form_refuses_with_fixed_ascii_text(body: bytes) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_form(body)
    assert raised.value.description is not None
    assert raised.value.description.isascii()


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
@pytest.mark.parametrize("body", REFUSED_BODIES)
def test_form_endpoints_answer_invalid_request_to_hostile_bodies(
        http: TestClient, path: str, body: bytes) -> None:
    # Before authentication: no credentials are sent at all.
    response = http.post(path, content=body, headers=FORM)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("grant_type", [
    pytest.param('a"b', id="quote"), pytest.param("a\\b", id="backslash"),
    pytest.param("grant-é", id="non-ascii"), pytest.param("a\nb", id="newline"),
    pytest.param("\x00", id="nul"), pytest.param("x" * 5000, id="long"),
])
def test_token_unknown_grant_type_is_400_whatever_it_holds(http: TestClient, admin: Registered,
                                                           grant_type: str) -> None:
    response = http.post("/oauth/token", data={"grant_type": grant_type}, auth=admin.basic_auth)
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")
    assert grant_type not in response.text


@pytest.mark.parametrize("body", [
    *REFUSED_BODIES,
    pytest.param(b"client_id=%22&client_id=%5C", id="repeated-client_id"),
])
def test_authorize_post_with_a_hostile_body_is_an_error_page(http: TestClient,
                                                             body: bytes) -> None:
    response = http.post("/oauth/authorize", content=body, headers=FORM, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize("scope", ["made-up:scope", "a'b", "zz" * 200])
def test_token_scope_not_allowed_is_described_in_fixed_text(http: TestClient, admin: Registered,
                                                            scope: str) -> None:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "scope": scope}, auth=admin.basic_auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert scope not in response.text
