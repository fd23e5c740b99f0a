"""The authorization request by POST (OIDC Core §3.1.2.1: the server MUST accept it) and the
response_mode parameter (OAuth 2.0 Multiple Response Type Encoding Practices §2.1): query for a
code, fragment for either, never query for a token; anything else is invalid_request."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.flows.test_authorization_code import assert_error_page, request_query
from tests.flows.test_implicit_legacy import _legacy_client
from tests.oauth_flows import (
    REDIRECT_URI,
    Pkce,
    answer_of,
    exchange,
    pkce_pair,
    sealed_request_of,
    signed_in_person,
)
from tests.people import Person, csrf_of
from tests.support.apps import serve
from tests.support.clients import Registered
from tests.support.tokens import bearer

AUTHORIZE = "/oauth/authorize"
CONSENT = "/oauth/authorize/consent"
ME = "/api/v2/users/me"


def post_authorize(http: TestClient, form: dict[str, str] | list[tuple[str, str]]
                   ) -> httpx2.Response:
    return http.post(AUTHORIZE, content=urlencode(form).encode(), follow_redirects=False,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})


def allow(http: TestClient, page: httpx2.Response) -> httpx2.Response:
    assert page.status_code == 200, page.headers.get("location")
    return http.post(CONSENT, follow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "request": sealed_request_of(page.text),
        "decision": "allow"})


def redeem(http: TestClient, client: Registered, code: str, pkce: Pkce) -> str:
    issued = exchange(http, client, code, pkce=pkce)
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


# -- POST /oauth/authorize --

def test_post_authorize_runs_the_whole_code_flow(http: TestClient, client: Registered,
                                                 person: Person) -> None:
    pkce = pkce_pair()
    answer = answer_of(allow(http, post_authorize(http, request_query(client.id, pkce))))
    assert answer["state"] == "s-123"
    access = redeem(http, client, answer["code"], pkce)
    assert http.get(ME, headers=bearer(access)).json()["email"] == person.email


def test_post_authorize_after_consent_answers_at_once(http: TestClient, client: Registered,
                                                      person: Person) -> None:
    del person
    allow(http, http.get(AUTHORIZE, params=request_query(client.id), follow_redirects=False))
    pkce = pkce_pair()
    answer = answer_of(post_authorize(http, request_query(client.id, pkce)))
    redeem(http, client, answer["code"], pkce)


def test_post_authorize_without_a_session_cookie_asks_again_by_get(
        settings: Settings, client: Registered) -> None:
    # A cross-site POST carries no SameSite=Lax cookie: the same request by GET will.
    query = request_query(client.id)
    with serve(settings) as stranger:
        response = post_authorize(stranger, query)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == AUTHORIZE
    assert {k: v[0] for k, v in parse_qs(location.query).items()} == query


@pytest.mark.usefixtures("person")
def test_post_authorize_ignores_the_query_string(http: TestClient, client: Registered) -> None:
    # The parameters are the form's; a query string cannot add or override any.
    form = request_query(client.id, response_type=None)
    response = http.post(f"{AUTHORIZE}?response_type=code", data=form, follow_redirects=False)
    assert answer_of(response)["error"] == "invalid_request"


@pytest.mark.usefixtures("person")
def test_post_authorize_repeated_parameter_is_invalid_request(http: TestClient,
                                                              client: Registered) -> None:
    form = [*request_query(client.id).items(), ("scope", "openid")]
    answer = answer_of(post_authorize(http, form))
    assert answer["error"] == "invalid_request"
    assert "code" not in answer


@pytest.mark.usefixtures("person")
@pytest.mark.parametrize("content_type", [
    pytest.param("application/json", id="json"),
    pytest.param("multipart/form-data; boundary=x", id="multipart"),
    pytest.param("text/plain", id="text"),
])
def test_post_authorize_that_is_not_form_data_is_an_error_page(
        http: TestClient, client: Registered, content_type: str) -> None:
    body = urlencode(request_query(client.id)).encode()
    response = http.post(AUTHORIZE, content=body, headers={"Content-Type": content_type},
                         follow_redirects=False)
    assert_error_page(response)


@pytest.mark.usefixtures("person")
def test_post_authorize_with_an_unregistered_redirect_uri_is_an_error_page(
        http: TestClient, client: Registered) -> None:
    form = request_query(client.id, redirect_uri="https://evil.example/cb")
    assert_error_page(post_authorize(http, form))


@pytest.mark.usefixtures("person")
def test_consent_answer_posted_to_the_authorization_endpoint_is_not_a_consent(
        http: TestClient, client: Registered) -> None:
    # The consent form has its own route: its fields sent to /oauth/authorize are an
    # authorization request without client_id, which issues nothing.
    page = http.get(AUTHORIZE, params=request_query(client.id), follow_redirects=False)
    response = post_authorize(http, {"csrf_token": csrf_of(page.text), "decision": "allow",
                                     "request": sealed_request_of(page.text)})
    assert_error_page(response)


@pytest.mark.usefixtures("person")
def test_consent_route_still_needs_its_csrf_token(http: TestClient, client: Registered) -> None:
    page = http.get(AUTHORIZE, params=request_query(client.id), follow_redirects=False)
    response = http.post(CONSENT, follow_redirects=False, data={
        "request": sealed_request_of(page.text), "decision": "allow"})
    assert response.status_code == 403
    assert "location" not in response.headers


# -- response_mode --

@pytest.mark.usefixtures("person")
def test_response_mode_fragment_puts_the_code_in_the_fragment(http: TestClient,
                                                              client: Registered) -> None:
    pkce = pkce_pair()
    response = allow(http, http.get(AUTHORIZE, follow_redirects=False, params=request_query(
        client.id, pkce, response_mode="fragment")))
    location = urlsplit(response.headers["location"])
    assert location.query == ""
    answer = {k: v[0] for k, v in parse_qs(location.fragment).items()}
    assert answer["state"] == "s-123"
    redeem(http, client, answer["code"], pkce)


@pytest.mark.usefixtures("person")
def test_response_mode_query_for_a_code_is_the_default(http: TestClient,
                                                       client: Registered) -> None:
    response = allow(http, http.get(AUTHORIZE, follow_redirects=False, params=request_query(
        client.id, response_mode="query")))
    location = urlsplit(response.headers["location"])
    assert location.fragment == ""
    assert "code" in parse_qs(location.query)


@pytest.mark.usefixtures("person")
@pytest.mark.parametrize("mode", [
    pytest.param("form_post", id="form_post-not-offered"),
    pytest.param("web_message", id="unknown"),
    pytest.param("QUERY", id="case-matters"),
    pytest.param('q"uery', id="quote"),
])
def test_response_mode_unsupported_is_invalid_request(http: TestClient, client: Registered,
                                                      mode: str) -> None:
    response = http.get(AUTHORIZE, follow_redirects=False,
                        params=request_query(client.id, response_mode=mode))
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    answer = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert (answer["error"], answer["state"]) == ("invalid_request", "s-123")
    assert "code" not in answer


def test_response_mode_query_with_a_token_is_refused_in_the_fragment(http: TestClient) -> None:
    client_id = _legacy_client(http)
    signed_in_person(http)
    response = http.get(AUTHORIZE, follow_redirects=False, params={
        "response_type": "token", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "users:readonly", "state": "s-1", "response_mode": "query"})
    location = urlsplit(response.headers["location"])
    assert location.query == ""  # nothing, not even the error, in the query
    answer = {k: v[0] for k, v in parse_qs(location.fragment).items()}
    assert answer["error"] == "invalid_request"
    assert "access_token" not in answer


def test_response_mode_query_with_a_token_by_post_is_refused_too(http: TestClient) -> None:
    client_id = _legacy_client(http)
    signed_in_person(http)
    response = post_authorize(http, {
        "response_type": "token", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "users:readonly", "response_mode": "query"})
    answer = answer_of(response)
    assert answer["error"] == "invalid_request"
    assert "access_token" not in answer
    assert "?" not in response.headers["location"]


@pytest.mark.usefixtures("person")
def test_bad_response_mode_with_an_unregistered_redirect_uri_is_an_error_page(
        http: TestClient, client: Registered) -> None:
    assert_error_page(http.get(AUTHORIZE, follow_redirects=False, params=request_query(
        client.id, response_mode="bogus", redirect_uri="https://evil.example/cb")))


def test_discovery_lists_the_response_modes(http: TestClient) -> None:
    modes = http.get("/.well-known/openid-configuration").json()["response_modes_supported"]
    assert sorted(modes) == ["fragment", "query"]
