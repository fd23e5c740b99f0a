"""The authorization code grant with PKCE end to end over HTTP: the authorization endpoint (RFC 6749
§4.1.1-4.1.2, RFC 9700 §2.1 and §4.1, RFC 8252 §7.3, RFC 9207), consent, the code at the token
endpoint (§4.1.3, RFC 7636 §4.5-4.6), replay and races, and what a user's token may do."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.oauth_flows import (
    REDIRECT_URI,
    Pkce,
    after_grace,
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    public_client,
    refresh,
    sealed_request_of,
    signed_in_person,
    user_tokens,
)
from tests.people import Person, create_user, csrf_of
from tests.support.apps import serve
from tests.support.clients import Registered, code_body, create_client, set_state, update_client
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.tokens import bearer, introspect

AUTHORIZE = "/oauth/authorize"
CONSENT = "/oauth/authorize/consent"  # the consent form posts its answer here
ISSUER = "http://testserver"
LOOPBACK = "http://127.0.0.1/cb"
USERS = "/api/v2/users"


@pytest.fixture
def client(http: TestClient) -> Registered:
    """A confidential CODE client with a web and a loopback redirect URI."""
    return code_client(http, redirect_uris=(REDIRECT_URI, LOOPBACK))


def request_query(client_id: str, pkce: Pkce | None = None, /,
                  **params: str | None) -> dict[str, str]:
    """A valid code + PKCE authorization request; ``None`` removes a parameter."""
    pkce = pkce or pkce_pair()
    base: dict[str, str | None] = {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid users:readonly", "state": "s-123", "code_challenge": pkce.challenge,
        "code_challenge_method": "S256"}
    return {k: v for k, v in (base | params).items() if v is not None}


def get_authorize(http: TestClient,
                  params: dict[str, str] | list[tuple[str, str]]) -> httpx2.Response:
    return http.get(f"{AUTHORIZE}?{urlencode(params)}", follow_redirects=False)


def assert_error_page(response: httpx2.Response) -> None:
    """Shown to the user, never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1)."""
    assert response.status_code == 400, response.headers.get("location")
    assert "location" not in response.headers
    assert 'id="authorize-error"' in response.text


def assert_redirected_error(response: httpx2.Response, error: str) -> dict[str, str]:
    """§4.1.2.1: at the registered URI, with error, the request's state and iss (RFC 9207)."""
    assert response.status_code == 303
    assert response.headers["location"].startswith((REDIRECT_URI + "?", REDIRECT_URI + "#"))
    answer = answer_of(response)
    assert answer["error"] == error
    assert answer["state"] == "s-123"
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    return answer


def consent_page(http: TestClient, client_id: str, **params: str | None) -> httpx2.Response:
    page = get_authorize(http, request_query(client_id, **params))
    assert page.status_code == 200, page.headers.get("location")
    assert 'id="allow"' in page.text
    return page


def code_of(http: TestClient, client: Registered, pkce: Pkce, **params: str) -> str:
    return answer_of(authorize(http, client.id, pkce=pkce, **params))["code"]


def token_error(response: httpx2.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["error"])


# -- the redirect URI: refused with a page, never redirected --

# One app and client for the whole table (a fresh database per case would cost seconds each);
# each case is still reported by its id.
UNREGISTERED_REDIRECT_URIS = {
    "9700-4.1.3-host-case": "https://APP.example/cb",
    "9700-4.1.3-path-case": "https://app.example/CB",
    "9700-4.1.3-trailing-slash": "https://app.example/cb/",
    "9700-4.1.3-extra-segment": "https://app.example/cb/evil",
    "9700-4.1.3-added-query": "https://app.example/cb?next=https://evil.example",
    "9700-4.1.3-userinfo": "https://evil@app.example/cb",
    "9700-4.1.3-other-port-non-loopback": "https://app.example:8443/cb",
    "9700-2.6-http-instead-of-https": "http://app.example/cb",
    "3.1.2-fragment": "https://app.example/cb#frag",
    "9700-4.1.3-other-host": "https://evil.example/cb",
    "8252-7.3-localhost-for-127.0.0.1": "http://localhost:53123/cb",
    "8252-7.3-loopback-other-path": "http://127.0.0.1:53123/other",
    "8252-7.3-loopback-other-scheme": "https://127.0.0.1:53123/cb",
    "9700-4.1-javascript-uri": "javascript:alert(1)",
}


def test_authorize_unregistered_redirect_uri_shows_an_error_page(
        http: TestClient, client: Registered, subtests: pytest.Subtests) -> None:
    for case, redirect_uri in UNREGISTERED_REDIRECT_URIS.items():
        with subtests.test(case):
            assert_error_page(get_authorize(http, request_query(client.id,
                                                                redirect_uri=redirect_uri)))


def test_authorize_unknown_client_shows_an_error_page(http: TestClient) -> None:
    assert_error_page(get_authorize(http, request_query("no-such-client")))


def test_authorize_missing_client_id_shows_an_error_page(http: TestClient) -> None:
    query = request_query("")
    del query["client_id"]
    assert_error_page(get_authorize(http, query))


def test_authorize_disabled_client_shows_an_error_page(http: TestClient, client: Registered,
                                                       headers: dict[str, str]) -> None:
    set_state(http, headers, client.id, "disabled")
    assert_error_page(get_authorize(http, request_query(client.id)))


def test_authorize_missing_redirect_uri_with_several_registered_shows_an_error_page(
        http: TestClient, client: Registered) -> None:
    assert_error_page(get_authorize(http, request_query(client.id, redirect_uri=None)))


def test_authorize_bad_redirect_uri_wins_over_other_errors(http: TestClient,
                                                           client: Registered) -> None:
    # Even a request that is wrong in every other way must not be answered at evil.example.
    assert_error_page(get_authorize(http, request_query(
        client.id, redirect_uri="https://evil.example/cb", response_type="nope",
        code_challenge=None, scope="oauth")))


def test_authorize_repeated_redirect_uri_never_redirects_to_the_unregistered_one(
        http: TestClient, client: Registered) -> None:
    evil = ("redirect_uri", "https://evil.example/cb")
    for query in ([*request_query(client.id).items(), evil],
                  [evil, *request_query(client.id).items()]):
        response = get_authorize(http, query)
        # Either the page, or invalid_request at the registered URI: never evil.example.
        if response.status_code == 400:
            assert_error_page(response)
        else:
            assert_redirected_error(response, "invalid_request")


def test_authorize_error_page_is_not_framed_or_cached(http: TestClient) -> None:
    response = get_authorize(http, request_query("no-such-client"))
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


# -- loopback redirect URIs (RFC 8252 §7.3) --

@pytest.fixture
def native(http: TestClient, headers: dict[str, str]) -> str:
    """A public (native app) CODE client with a loopback redirect URI: its id."""
    return public_client(http, headers, redirect_uris=(LOOPBACK,))


@pytest.mark.usefixtures("person")
def test_authorize_loopback_redirect_uri_matches_on_any_port(http: TestClient,
                                                             native: str) -> None:
    pkce, uri = pkce_pair(), "http://127.0.0.1:53123/cb"
    response = authorize(http, native, pkce=pkce, redirect_uri=uri)
    assert response.headers["location"].startswith(uri + "?")
    code = answer_of(response)["code"]
    assert exchange(http, native, code, pkce=pkce, redirect_uri=uri).status_code == 200


@pytest.mark.usefixtures("person")
def test_authorize_confidential_loopback_redirect_uri_needs_its_exact_port(
        http: TestClient, client: Registered) -> None:
    # RFC 8252 §7.3's any-port rule is for native apps; a web client's address is fixed.
    response = authorize(http, client.id, pkce=pkce_pair(), redirect_uri="http://127.0.0.1:53123/cb")
    assert response.status_code == 400
    assert "location" not in response.headers
    exact = authorize(http, client.id, pkce=pkce_pair(), redirect_uri=LOOPBACK)
    assert exact.headers["location"].startswith(LOOPBACK + "?")


@pytest.mark.usefixtures("person")
def test_token_loopback_code_needs_the_same_port_at_the_token_endpoint(
        http: TestClient, native: str) -> None:
    pkce, uri = pkce_pair(), "http://127.0.0.1:53123/cb"
    code = answer_of(authorize(http, native, pkce=pkce, redirect_uri=uri))["code"]
    other_port = exchange(http, native, code, pkce=pkce, redirect_uri="http://127.0.0.1:9/cb")
    assert token_error(other_port) == "invalid_grant"


# -- errors sent back to the validated redirect URI (§4.1.2.1, RFC 9207) --

PLAIN = pkce_pair()
REDIRECTED_ERRORS: dict[str, tuple[dict[str, str | None], str]] = {
    "4.1.2.1-unsupported-response_type": ({"response_type": "id_token"},
                                          "unsupported_response_type"),
    "4.1.2.1-hybrid-response_type": ({"response_type": "code id_token"},
                                     "unsupported_response_type"),
    "4.1.1-missing-response_type": ({"response_type": None}, "invalid_request"),
    "4.1.2.1-scope-client-lacks": ({"scope": "openid oauth"}, "invalid_scope"),
    "4.1.2.1-unknown-scope": ({"scope": "openid admin:everything"}, "invalid_scope"),
    "7636-4.4.1-missing-code_challenge": ({"code_challenge": None,
                                           "code_challenge_method": None}, "invalid_request"),
    "9700-2.1.1-plain-refused": ({"code_challenge": PLAIN.verifier,
                                  "code_challenge_method": "plain"}, "invalid_request"),
    "7636-4.3-method-missing": ({"code_challenge_method": None}, "invalid_request"),
    "7636-4.2-malformed-challenge": ({"code_challenge": "too-short"}, "invalid_request"),
    "7636-4.3-method-without-challenge": ({"code_challenge": None}, "invalid_request"),
    "oidc-3.1.2.1-prompt-none-plus": ({"prompt": "none login"}, "invalid_request"),
    "oidc-3.1.2.1-prompt-unknown": ({"prompt": "sometimes"}, "invalid_request"),
    "oidc-3.1.2.1-nonce-too-long": ({"nonce": "n" * 513}, "invalid_request"),
}


def test_authorize_error_is_redirected_with_state_and_iss(
        http: TestClient, client: Registered, subtests: pytest.Subtests) -> None:
    for case, (params, error) in REDIRECTED_ERRORS.items():
        with subtests.test(case):
            assert_redirected_error(get_authorize(http, request_query(client.id, **params)),
                                    error)


def test_authorize_implicit_for_a_code_only_client_is_refused_in_the_fragment(
        http: TestClient, client: Registered) -> None:
    response = get_authorize(http, request_query(client.id, response_type="token",
                                                 code_challenge=None, code_challenge_method=None))
    location = response.headers["location"]
    assert urlsplit(location).query == ""  # §4.2.2.1: the error goes in the fragment
    assert_redirected_error(response, "unauthorized_client")


def test_authorize_repeated_parameter_is_invalid_request(http: TestClient, client: Registered,
                                                         subtests: pytest.Subtests) -> None:
    query = request_query(client.id, nonce="n-1")
    for name in ("scope", "state", "code_challenge", "response_type", "nonce"):
        with subtests.test(f"3.1-repeated-{name}"):
            response = get_authorize(http, [*query.items(), (name, query[name])])
            assert answer_of(response)["error"] == "invalid_request"  # §3.1: MUST NOT repeat
            assert answer_of(response)["iss"] == ISSUER


@pytest.mark.parametrize("response_type", [
    pytest.param('code"', id="quote"),
    pytest.param("c\\ode", id="backslash"),
    pytest.param("c\u00f3de", id="non-ascii"),
])
def test_authorize_odd_response_type_is_unsupported_not_a_crash(
        http: TestClient, client: Registered, response_type: str) -> None:
    response = get_authorize(http, request_query(client.id, response_type=response_type))
    assert_redirected_error(response, "unsupported_response_type")


def test_authorize_repeated_odd_parameter_name_is_invalid_request_not_a_crash(
        http: TestClient, client: Registered) -> None:
    response = get_authorize(http, [*request_query(client.id).items(), ('x"', "1"), ('x"', "2")])
    assert_redirected_error(response, "invalid_request")


def test_authorize_prompt_none_when_not_signed_in_is_login_required(
        http: TestClient, client: Registered) -> None:
    assert_redirected_error(get_authorize(http, request_query(client.id, prompt="none")),
                            "login_required")


@pytest.mark.usefixtures("person")
def test_authorize_prompt_none_without_consent_is_consent_required(
        http: TestClient, client: Registered) -> None:
    assert_redirected_error(get_authorize(http, request_query(client.id, prompt="none")),
                            "consent_required")


@pytest.mark.usefixtures("person")
def test_authorize_prompt_none_with_consent_answers_with_a_code(http: TestClient,
                                                                client: Registered) -> None:
    authorize(http, client.id, pkce=pkce_pair())  # consents
    answer = answer_of(get_authorize(http, request_query(client.id, prompt="none")))
    assert set(answer) == {"code", "state", "iss"}


@pytest.mark.usefixtures("person")
def test_authorize_deny_on_the_consent_page_is_access_denied(http: TestClient,
                                                             client: Registered) -> None:
    response = authorize(http, client.id, pkce=pkce_pair(), consent="deny")
    assert_redirected_error(response, "access_denied")


@pytest.mark.usefixtures("person")
def test_authorize_deny_is_not_remembered(http: TestClient, client: Registered) -> None:
    authorize(http, client.id, pkce=pkce_pair(), consent="deny")
    consent_page(http, client.id)


# -- signing in on the way --

def test_authorize_not_signed_in_goes_to_sign_in_and_comes_back(http: TestClient,
                                                                client: Registered) -> None:
    person = create_user(http, "later@example.com")
    query = request_query(client.id)
    response = get_authorize(http, query)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    back = parse_qs(target.query)["next"][0]
    assert urlsplit(back).path == AUTHORIZE
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == query
    login = http.get(response.headers["location"])
    signed = http.post("/login", data={"email": person.email, "password": person.password,
                                       "csrf_token": csrf_of(login.text), "next": back},
                       follow_redirects=False)
    assert signed.headers["location"] == back
    assert 'id="allow"' in http.get(back, follow_redirects=False).text


@pytest.mark.usefixtures("person")
def test_authorize_success_carries_state_exactly_and_iss(http: TestClient,
                                                         client: Registered) -> None:
    state = "a b&c=d/\u00e9?#%"
    answer = answer_of(authorize(http, client.id, pkce=pkce_pair(), state=state))
    assert (answer["state"], answer["iss"]) == (state, ISSUER)  # §4.1.2, RFC 9207 §2
    assert len(answer["code"]) >= 32


# -- consent --

@pytest.mark.usefixtures("person")
def test_consent_page_names_the_client_the_user_and_each_scope(http: TestClient,
                                                               client: Registered) -> None:
    page = consent_page(http, client.id, scope="openid email users:readonly")
    assert 'id="client-name">web app<' in page.text
    assert "user@example.com" in page.text
    for scope in ("openid", "email", "users:readonly"):
        assert f"<code>{scope}</code>" in page.text
    assert page.headers["x-frame-options"] == "DENY"  # RFC 9700 §4.16: no clickjacking
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("person")
def test_consent_is_remembered_for_the_next_authorization(http: TestClient,
                                                          client: Registered) -> None:
    authorize(http, client.id, pkce=pkce_pair())
    response = get_authorize(http, request_query(client.id))
    assert response.status_code == 303  # straight back to the app, no page
    assert set(answer_of(response)) == {"code", "state", "iss"}


@pytest.mark.usefixtures("person")
def test_consent_covers_fewer_scopes_but_not_more(http: TestClient, client: Registered) -> None:
    authorize(http, client.id, pkce=pkce_pair(), scope="openid users:readonly")
    fewer = get_authorize(http, request_query(client.id, scope="users:readonly"))
    assert "code" in answer_of(fewer)
    consent_page(http, client.id, scope="openid users:readonly email")


@pytest.mark.usefixtures("person")
def test_consent_is_asked_again_when_the_clients_scopes_change(
        http: TestClient, client: Registered, headers: dict[str, str]) -> None:
    authorize(http, client.id, pkce=pkce_pair())
    changed = update_client(http, headers, client.id, scope=["users:readonly", "oauth:readonly"])
    assert changed.status_code == 200, changed.text
    consent_page(http, client.id)


@pytest.mark.usefixtures("person")
def test_consent_prompt_consent_shows_the_page_again(http: TestClient,
                                                     client: Registered) -> None:
    authorize(http, client.id, pkce=pkce_pair())
    consent_page(http, client.id, prompt="consent")


@pytest.mark.usefixtures("person")
def test_consent_form_without_csrf_token_is_refused(http: TestClient,
                                                    client: Registered) -> None:
    page = consent_page(http, client.id)
    sealed = sealed_request_of(page.text)
    response = http.post(CONSENT, data={"request": sealed, "decision": "allow"},
                         follow_redirects=False)
    assert response.status_code == 403
    assert "location" not in response.headers
    consent_page(http, client.id)  # nothing was remembered


@pytest.mark.usefixtures("person")
def test_consent_form_tampered_is_refused(http: TestClient, client: Registered) -> None:
    page = consent_page(http, client.id)
    sealed = sealed_request_of(page.text)
    forged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    response = http.post(CONSENT, data={"request": forged, "decision": "allow",
                                          "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    assert_error_page(response)


def test_consent_form_of_another_user_is_refused(http: TestClient, client: Registered,
                                                 settings: Settings) -> None:
    signed_in_person(http, "victim@example.com")
    page = consent_page(http, client.id)
    sealed = sealed_request_of(page.text)
    with serve(settings) as other:  # the attacker's own browser
        signed_in_person(other, "attacker@example.com")
        csrf = csrf_of(other.get("/admin").text)
        response = other.post(CONSENT, data={"request": sealed, "decision": "allow",
                                               "csrf_token": csrf}, follow_redirects=False)
    assert_error_page(response)


def test_consent_is_remembered_per_user(http: TestClient, client: Registered,
                                        settings: Settings) -> None:
    signed_in_person(http, "first@example.com")
    authorize(http, client.id, pkce=pkce_pair())
    with serve(settings) as other:  # another person's browser
        signed_in_person(other, "second@example.com")
        consent_page(other, client.id)


def test_consent_form_expires_after_ten_minutes(clocked: TestClient,
                                                clock: ManualClock) -> None:
    client = code_client(clocked)
    signed_in_person(clocked)
    page = consent_page(clocked, client.id)
    clock.advance(601)
    response = clocked.post(CONSENT, data={
        "request": sealed_request_of(page.text), "decision": "allow",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert_error_page(response)


@pytest.mark.usefixtures("person")
def test_consent_allow_after_the_client_was_disabled_shows_an_error_page(
        http: TestClient, client: Registered, headers: dict[str, str]) -> None:
    page = consent_page(http, client.id)
    set_state(http, headers, client.id, "disabled")
    response = http.post(CONSENT, data={
        "request": sealed_request_of(page.text), "decision": "allow",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert_error_page(response)


# -- the code at the token endpoint (§4.1.3, RFC 7636 §4.5-4.6) --

@pytest.mark.usefixtures("person")
def test_token_code_exchange_returns_access_refresh_and_id_tokens(http: TestClient,
                                                                  client: Registered) -> None:
    pkce = pkce_pair()
    response = exchange(http, client, code_of(http, client, pkce), pkce=pkce)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid users:readonly"
    assert body["expires_in"] > 0
    assert {"access_token", "refresh_token", "id_token"} <= set(body)


@pytest.mark.usefixtures("person")
def test_token_code_exchange_with_client_secret_post_works(http: TestClient) -> None:
    client = code_client(http, redirect_uris=(REDIRECT_URI,),
                         tokenEndpointAuthMethod="client_secret_post")
    pkce = pkce_pair()
    response = http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code_of(http, client, pkce),
        "code_verifier": pkce.verifier, "redirect_uri": REDIRECT_URI,
        "client_id": client.id, "client_secret": client.secret})
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("person")
def test_token_code_of_a_user_made_inactive_is_invalid_grant(http: TestClient,
                                                             client: Registered, person: Person,
                                                             headers: dict[str, str]) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    patched = http.patch(f"{USERS}/{person.id}", headers=headers, json={"state": "inactive"})
    assert patched.status_code == 200, patched.text
    assert token_error(exchange(http, client, code, pkce=pkce)) == "invalid_grant"


@pytest.mark.usefixtures("person")
def test_token_code_exchange_without_openid_has_no_id_token(http: TestClient,
                                                            client: Registered) -> None:
    body = user_tokens(http, client, scope="users:readonly")
    assert "id_token" not in body
    assert body["refresh_token"]


@pytest.mark.usefixtures("person")
def test_token_user_access_token_introspects_as_the_user(http: TestClient, client: Registered,
                                                         person: Person) -> None:
    body = user_tokens(http, client)
    seen = introspect(http, client, body["access_token"]).json()
    assert seen["active"] is True
    assert (seen["client_id"], seen["sub"]) == (client.id, person.id)


@pytest.mark.usefixtures("person")
@pytest.mark.parametrize("verifier", [
    pytest.param(None, id="7636-4.5-missing-verifier"),
    pytest.param(pkce_pair().verifier, id="7636-4.6-wrong-verifier"),
    pytest.param("short", id="7636-4.1-malformed-verifier"),
])
def test_token_code_with_bad_verifier_is_invalid_grant(http: TestClient, client: Registered,
                                                       verifier: str | None) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    sent = Pkce(verifier, pkce.challenge) if verifier is not None else None
    assert token_error(exchange(http, client, code, pkce=sent)) == "invalid_grant"


@pytest.mark.usefixtures("person")
def test_token_pkce_downgrade_is_refused(http: TestClient) -> None:
    # RFC 9700 §2.1.1: a code issued without a challenge must not be redeemed with a verifier.
    relaxed = code_client(http, requirePkce=False)
    query = request_query(relaxed.id, code_challenge=None, code_challenge_method=None)
    page = get_authorize(http, query)
    sealed = sealed_request_of(page.text)
    code = answer_of(http.post(CONSENT, data={
        "request": sealed, "decision": "allow", "csrf_token": csrf_of(page.text)},
        follow_redirects=False))["code"]
    # OAuth 2.1 §3.2.4 / §4.1.3: the verifier is a parameter the request must not have.
    assert token_error(exchange(http, relaxed, code, pkce=pkce_pair())) == "invalid_request"


@pytest.mark.usefixtures("person")
def test_token_code_without_pkce_works_for_a_client_that_opted_out(http: TestClient) -> None:
    relaxed = code_client(http, requirePkce=False)
    code = answer_of(authorize(http, relaxed.id, pkce=None))["code"]
    assert exchange(http, relaxed, code).status_code == 200


@pytest.mark.usefixtures("person")
def test_token_code_replay_is_refused_and_revokes_the_first_tokens(
        http: TestClient, client: Registered, settings: Settings) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    first = exchange(http, client, code, pkce=pkce)
    assert first.status_code == 200
    assert introspect(http, client, first.json()["access_token"]).json()["active"] is True
    with after_grace(settings) as later:  # within the grace it would be a racing duplicate
        assert token_error(exchange(later, client, code, pkce=pkce)) == "invalid_grant"
    # §4.1.2: a code used twice SHOULD revoke what it was exchanged for.
    assert introspect(http, client, first.json()["access_token"]).json() == {"active": False}
    assert token_error(refresh(http, client, first.json()["refresh_token"])) == "invalid_grant"


@pytest.mark.usefixtures("person")
def test_token_code_of_another_client_is_refused_and_not_burnt(http: TestClient,
                                                               client: Registered) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    thief = code_client(http, redirect_uris=(REDIRECT_URI,))
    assert token_error(exchange(http, thief, code, pkce=pkce)) == "invalid_grant"
    assert exchange(http, client, code, pkce=pkce).status_code == 200


@pytest.mark.usefixtures("person")
@pytest.mark.parametrize("redirect_uri", [
    pytest.param(LOOPBACK, id="4.1.3-other-registered-uri"),
    pytest.param(REDIRECT_URI + "/", id="4.1.3-not-identical"),
])
def test_token_wrong_redirect_uri_is_invalid_grant(http: TestClient, client: Registered,
                                                   redirect_uri: str) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    response = exchange(http, client, code, pkce=pkce, redirect_uri=redirect_uri)
    assert token_error(response) == "invalid_grant"


@pytest.mark.usefixtures("person")
def test_token_redirect_uri_is_required_when_the_request_had_one(http: TestClient,
                                                                 client: Registered) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    response = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier})
    assert token_error(response) == "invalid_grant"


@pytest.mark.usefixtures("person")
def test_token_redirect_uri_may_be_omitted_when_the_request_omitted_it(
        http: TestClient) -> None:
    single = code_client(http)
    pkce = pkce_pair()
    authorize(http, single.id, pkce=pkce)  # consent
    query = request_query(single.id, pkce, redirect_uri=None)
    code = answer_of(get_authorize(http, query))["code"]
    response = http.post("/oauth/token", auth=single.basic_auth, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier})
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("person")
def test_token_scope_with_a_code_is_invalid_scope(http: TestClient, client: Registered) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    response = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier,
        "redirect_uri": REDIRECT_URI, "scope": "users:readonly"})
    assert token_error(response) == "invalid_scope"


@pytest.mark.parametrize(("form", "error"), [
    pytest.param({}, "invalid_request", id="4.1.3-missing-code"),
    pytest.param({"code": ""}, "invalid_request", id="4.1.3-empty-code"),
    pytest.param({"code": "not-a-code"}, "invalid_grant", id="4.1.3-unknown-code"),
])
def test_token_code_request_refused(http: TestClient, client: Registered, form: dict[str, str],
                                    error: str) -> None:
    response = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "authorization_code", "redirect_uri": REDIRECT_URI, **form})
    assert token_error(response) == error


@pytest.mark.usefixtures("person")
def test_token_code_with_wrong_client_secret_is_invalid_client(http: TestClient,
                                                               client: Registered) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    response = exchange(http, Registered(client.id, "wrong-secret"), code, pkce=pkce)
    assert token_error(response, 401) == "invalid_client"
    assert exchange(http, client, code, pkce=pkce).status_code == 200


@pytest.mark.usefixtures("person")
def test_token_confidential_client_naming_itself_without_its_secret_is_invalid_client(
        http: TestClient, client: Registered) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    # RFC 6749 §2.3.1: only a public client may just name itself (client_id, no secret).
    assert token_error(exchange(http, client.id, code, pkce=pkce), 401) == "invalid_client"
    assert exchange(http, client, code, pkce=pkce).status_code == 200


@pytest.mark.parametrize(("seconds", "status"), [
    pytest.param(59, 200, id="4.1.2-within-60s"),
    pytest.param(61, 400, id="4.1.2-expired-after-60s"),
])
def test_token_code_lives_sixty_seconds(clocked: TestClient, clock: ManualClock, seconds: int,
                                        status: int) -> None:
    client = code_client(clocked)
    signed_in_person(clocked)
    pkce = pkce_pair()
    code = code_of(clocked, client, pkce)
    clock.advance(seconds)
    response = exchange(clocked, client, code, pkce=pkce)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("seconds", "status"), [(299, 200), (301, 400)])
def test_token_code_lifetime_is_a_setting(settings: Settings, clock: ManualClock, seconds: int,
                                          status: int) -> None:
    """KEYSTEAD_AUTHORIZATION_CODE_TTL_SECONDS=300: a code waits five minutes, not one."""
    longer = settings.model_copy(update={"authorization_code_ttl_seconds": 300})
    with serve(longer, clock=clock) as clocked:
        client = code_client(clocked)
        signed_in_person(clocked)
        pkce = pkce_pair()
        code = code_of(clocked, client, pkce)
        clock.advance(seconds)
        assert exchange(clocked, client, code, pkce=pkce).status_code == status


@pytest.mark.usefixtures("person")
def test_token_code_race_gives_exactly_one_token(http: TestClient, client: Registered,
                                                 live_server: str) -> None:
    pkce = pkce_pair()
    code = code_of(http, client, pkce)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier,
            "redirect_uri": REDIRECT_URI}
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []

    def redeem() -> None:
        with httpx.Client(base_url=live_server, timeout=30) as session:
            barrier.wait()
            results.append(session.post("/oauth/token", data=form, auth=client.basic_auth))

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"


# -- public clients (RFC 6749 §2.1, RFC 8252 §8.4): no secret, PKCE always --

@pytest.mark.usefixtures("person")
def test_public_client_redeems_its_code_by_name_with_pkce(http: TestClient,
                                                          headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    pkce = pkce_pair()
    code = answer_of(authorize(http, app, pkce=pkce))["code"]
    response = exchange(http, app, code, pkce=pkce)
    assert response.status_code == 200, response.text
    assert {"access_token", "refresh_token", "id_token"} <= set(response.json())


@pytest.mark.usefixtures("person")
def test_public_client_authorization_without_pkce_is_invalid_request(
        http: TestClient, headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    query = request_query(app, code_challenge=None, code_challenge_method=None)
    assert_redirected_error(get_authorize(http, query), "invalid_request")


@pytest.mark.usefixtures("person")
def test_public_client_code_without_verifier_is_invalid_grant(http: TestClient,
                                                              headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    pkce = pkce_pair()
    code = answer_of(authorize(http, app, pkce=pkce))["code"]
    assert token_error(exchange(http, app, code)) == "invalid_grant"


def test_public_client_cannot_use_client_credentials(http: TestClient,
                                                     headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    response = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": app})
    assert token_error(response) == "unauthorized_client"


# -- a user's token acts as the user: scope AND permission --

def user_viewer(http: TestClient, headers: dict[str, str]) -> str:
    """A role holding only directory:user:view; its name."""
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "User viewer", "permissions": ["directory:user:view"]})
    assert response.status_code == 200, response.text
    return "User viewer"


def test_user_token_without_the_users_permission_is_forbidden(http: TestClient,
                                                              client: Registered) -> None:
    signed_in_person(http, "plain@example.com")
    access = user_tokens(http, client)["access_token"]
    response = http.get(USERS, headers=bearer(access))
    assert response.status_code == 403
    me = http.get(USERS + "/me", headers=bearer(access))
    assert me.json()["email"] == "plain@example.com"


def test_user_token_with_the_users_permission_lists_users(http: TestClient, client: Registered,
                                                          headers: dict[str, str]) -> None:
    role = user_viewer(http, headers)
    signed_in_person(http, "viewer@example.com", roles=(role,))
    access = user_tokens(http, client)["access_token"]
    response = http.get(USERS, headers=bearer(access))
    assert response.status_code == 200, response.text
    assert "viewer@example.com" in {u["email"] for u in response.json()["entities"]}


def test_user_token_of_a_super_admin_is_limited_to_its_scope(http: TestClient,
                                                             client: Registered) -> None:
    signed_in_person(http, "root@example.com", roles=("Super Admin",))
    access = user_tokens(http, client)["access_token"]
    assert http.get(USERS, headers=bearer(access)).status_code == 200
    written = http.post(USERS, headers=bearer(access), json={
        "name": "new", "email": "new@example.com"})
    assert written.status_code == 403
    assert 'error="insufficient_scope"' in written.headers["www-authenticate"]


def test_user_token_stops_at_once_when_the_user_is_made_inactive(
        http: TestClient, client: Registered, headers: dict[str, str]) -> None:
    role = user_viewer(http, headers)
    viewer = signed_in_person(http, "viewer@example.com", roles=(role,))
    access = user_tokens(http, client)["access_token"]
    assert http.get(USERS, headers=bearer(access)).status_code == 200
    patched = http.patch(f"{USERS}/{viewer.id}", headers=headers, json={"state": "inactive"})
    assert patched.status_code == 200, patched.text
    refused = http.get(USERS, headers=bearer(access))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert introspect(http, client, access).json() == {"active": False}


def test_user_token_does_not_carry_the_clients_roles(http: TestClient,
                                                     headers: dict[str, str]) -> None:
    # A CODE client holding Super Admin for its own calls: its users' tokens get none of it.
    strong = create_client(http, headers, code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"],
        authorizedGrantTypes=["CODE", "CLIENT-CREDENTIALS"],
        roleIds=[role_id(http, headers, "Super Admin")]))
    signed_in_person(http, "plain@example.com")
    access = user_tokens(http, strong)["access_token"]
    assert http.get(USERS, headers=bearer(access)).status_code == 403
