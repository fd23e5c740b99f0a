"""The authorization endpoint's rules as pure functions: redirect URI matching (RFC 6749 §3.1.2,
RFC 9700 §4.1.3, RFC 8252 §7.3), the request checks (§4.1.1, RFC 7636, OIDC Core §3.1.2.1) and
the answer sent back to the client (§4.1.2, §4.1.2.1, RFC 9207)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from keystead.domain.authorizations import RegisteredClient
from keystead.protocol.authorize import (
    MAX_NONCE,
    MAX_STATE,
    UnsafeAuthorizationRequest,
    answer,
    error_answer,
    error_in_fragment,
    redirect_target,
    redirect_uri_matches,
    validate,
)
from keystead.protocol.errors import (
    AccessDeniedError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from tests.oauth_flows import pkce_pair

APP = "https://app.example/cb"
LOOPBACK = "http://127.0.0.1/cb"
ISSUER = "https://keystead.example"
CHALLENGE = pkce_pair().challenge

CLIENT = RegisteredClient(
    id="c-1", name="web app", description="", active=True, grant_types=frozenset({"CODE"}),
    scopes=("users:readonly", "oauth:readonly"), redirect_uris=(APP,), is_public=False,
    require_pkce=True)


def request(**params: str | None) -> dict[str, str]:
    """A valid code + PKCE request; ``None`` removes a parameter."""
    base: dict[str, str | None] = {
        "response_type": "code", "client_id": CLIENT.id, "redirect_uri": APP,
        "scope": "openid users:readonly", "state": "s-1", "code_challenge": CHALLENGE,
        "code_challenge_method": "S256"}
    return {k: v for k, v in (base | params).items() if v is not None}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# -- redirect_uri_matches --

@pytest.mark.parametrize(("registered", "requested"), [
    pytest.param(APP, APP, id="3.1.2.3-identical"),
    pytest.param("https://app.example/cb?tenant=1", "https://app.example/cb?tenant=1",
                 id="3.1.2.3-identical-with-query"),
    pytest.param("myapp://cb", "myapp://cb", id="8252-7.1-private-use-scheme"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123/cb", id="8252-7.3-ipv4-any-port"),
    pytest.param("http://127.0.0.1:8080/cb", "http://127.0.0.1:53123/cb",
                 id="8252-7.3-registered-port-ignored"),
    pytest.param("http://[::1]/cb", "http://[::1]:53123/cb", id="8252-7.3-ipv6-any-port"),
    pytest.param("http://localhost/cb", "http://localhost:53123/cb",
                 id="8252-7.3-localhost-any-port"),
    pytest.param("http://127.0.0.1/cb?x=1", "http://127.0.0.1:4000/cb?x=1",
                 id="8252-7.3-same-query"),
])
def test_redirect_uri_matches(registered: str, requested: str) -> None:
    assert redirect_uri_matches(registered, requested, any_loopback_port=True) is True


@pytest.mark.parametrize(("registered", "requested"), [
    pytest.param(APP, "https://APP.example/cb", id="9700-4.1.3-host-case"),
    pytest.param(APP, "https://app.example/CB", id="9700-4.1.3-path-case"),
    pytest.param(APP, "HTTPS://app.example/cb", id="9700-4.1.3-scheme-case"),
    pytest.param(APP, "https://app.example/cb/", id="9700-4.1.3-trailing-slash"),
    pytest.param(APP, "https://app.example/cb/evil", id="9700-4.1.3-extra-segment"),
    pytest.param(APP, "https://app.example/cb/../cb", id="9700-4.1.3-dot-segments"),
    pytest.param(APP, "https://app.example/%63b", id="9700-4.1.3-percent-encoded"),
    pytest.param(APP, "https://app.example/cb?x=1", id="9700-4.1.3-added-query"),
    pytest.param(APP, "https://app.example/cb?", id="9700-4.1.3-empty-query"),
    pytest.param(APP, "https://app.example/cb#x", id="3.1.2-fragment"),
    pytest.param(APP, "https://evil@app.example/cb", id="9700-4.1.3-userinfo"),
    pytest.param(APP, "https://app.example:8443/cb", id="9700-4.1.3-other-port"),
    pytest.param(APP, "https://app.example:443/cb", id="9700-4.1.3-explicit-default-port"),
    pytest.param(APP, "http://app.example/cb", id="9700-2.6-http-for-https"),
    pytest.param(APP, "https://app.example.evil.example/cb", id="9700-4.1.3-suffix-domain"),
    pytest.param(APP, "https://app.example/cb ", id="3.1.2-trailing-space"),
    pytest.param("https://app.example/cb?tenant=1", "https://app.example/cb?tenant=2",
                 id="3.1.2.3-other-query-value"),
    pytest.param("https://app.example:8443/cb", "https://app.example:9443/cb",
                 id="8252-7.3-any-port-is-loopback-only"),
    pytest.param(LOOPBACK, "http://localhost:53123/cb", id="8252-7.3-localhost-for-127"),
    pytest.param("http://localhost/cb", "http://127.0.0.1:53123/cb",
                 id="8252-7.3-127-for-localhost"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123/other", id="8252-7.3-other-path"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123/cb/", id="8252-7.3-trailing-slash"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123/cb?x=1", id="8252-7.3-added-query"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123/cb#x", id="8252-7.3-fragment"),
    pytest.param(LOOPBACK, "https://127.0.0.1:53123/cb", id="8252-7.3-other-scheme"),
    pytest.param(LOOPBACK, "http://evil@127.0.0.1:53123/cb", id="8252-7.3-userinfo"),
    pytest.param(LOOPBACK, "http://127.0.0.1:53123@evil.example/cb",
                 id="8252-7.3-port-as-userinfo"),
    pytest.param(LOOPBACK, "http://127.0.0.1:0/cb", id="8252-7.3-port-zero"),
    pytest.param(LOOPBACK, "http://127.0.0.1:65536/cb", id="8252-7.3-port-too-big"),
    pytest.param(LOOPBACK, "http://127.0.0.1:http/cb", id="8252-7.3-port-not-a-number"),
    pytest.param(LOOPBACK, "http://127.0.0.2:53123/cb", id="8252-7.3-other-loopback-address"),
    pytest.param(LOOPBACK, "http://127.0.0.1.evil.example:53123/cb",
                 id="8252-7.3-loopback-prefix-domain"),
    pytest.param("http://[::1]/cb", "http://[::1]:53123/other", id="8252-7.3-ipv6-other-path"),
])
def test_redirect_uri_does_not_match(registered: str, requested: str) -> None:
    assert redirect_uri_matches(registered, requested, any_loopback_port=True) is False


# -- redirect_target: which URI the answer may go to --

def test_redirect_target_uses_the_only_registered_uri_when_none_is_sent() -> None:
    assert redirect_target(CLIENT, None) == (CLIENT, APP)


def test_redirect_target_returns_the_requested_loopback_uri_with_its_port() -> None:
    # RFC 8252 §7.3 applies to native apps, which are public clients.
    client = replace(CLIENT, redirect_uris=(APP, LOOPBACK), is_public=True)
    assert redirect_target(client, "http://127.0.0.1:5000/cb") == (client,
                                                                  "http://127.0.0.1:5000/cb")


@pytest.mark.parametrize("requested", [
    pytest.param("http://127.0.0.1:5000/cb", id="8252-7.3-port-added"),
    pytest.param("http://127.0.0.1:8081/cb", id="8252-7.3-other-port"),
    pytest.param("http://127.0.0.1/cb", id="8252-7.3-port-dropped"),
])
def test_redirect_target_confidential_loopback_uri_needs_its_exact_port(requested: str) -> None:
    client = replace(CLIENT, redirect_uris=("http://127.0.0.1:8080/cb",))
    with pytest.raises(UnsafeAuthorizationRequest):
        redirect_target(client, requested)


def test_redirect_target_confidential_loopback_uri_matches_exactly() -> None:
    client = replace(CLIENT, redirect_uris=("http://127.0.0.1:8080/cb",))
    assert redirect_target(client, "http://127.0.0.1:8080/cb") == (
        client, "http://127.0.0.1:8080/cb")


@pytest.mark.parametrize("is_public", [pytest.param(True, id="public"),
                                       pytest.param(False, id="confidential")])
@pytest.mark.parametrize("requested", [pytest.param("myapp:/cb", id="sent"),
                                       pytest.param(None, id="omitted")])
def test_redirect_target_never_uses_a_stored_uri_that_breaks_todays_rules(
        is_public: bool, requested: str | None) -> None:
    # RFC 8252 §7.1: registered before private-use schemes had to be reverse domain names.
    client = replace(CLIENT, redirect_uris=("myapp:/cb",), is_public=is_public)
    with pytest.raises(UnsafeAuthorizationRequest):
        redirect_target(client, requested)


def test_redirect_target_still_uses_the_valid_uris_of_a_client_holding_an_invalid_one() -> None:
    client = replace(CLIENT, redirect_uris=("myapp:/cb", "com.example.app:/cb"), is_public=True)
    assert redirect_target(client, "com.example.app:/cb") == (client, "com.example.app:/cb")


@pytest.mark.parametrize(("client", "requested"), [
    pytest.param(None, APP, id="4.1.2.1-unknown-client"),
    pytest.param(replace(CLIENT, active=False), APP, id="4.1.2.1-disabled-client"),
    pytest.param(replace(CLIENT, redirect_uris=(APP, LOOPBACK)), None,
                 id="3.1.2.3-missing-with-several-registered"),
    pytest.param(CLIENT, "https://evil.example/cb", id="4.1.2.1-unregistered-uri"),
    pytest.param(CLIENT, "", id="4.1.2.1-empty-uri"),
])
def test_redirect_target_refuses_without_redirecting(client: RegisteredClient | None,
                                                     requested: str | None) -> None:
    with pytest.raises(UnsafeAuthorizationRequest) as raised:
        redirect_target(client, requested)
    assert raised.value.message  # shown to the user on the error page


# -- validate: everything else, answered at the (validated) redirect URI --

def test_validate_returns_the_request_as_asked() -> None:
    checked = validate(request(nonce="n-1", prompt="consent"), CLIENT, APP)
    assert (checked.client_id, checked.redirect_uri, checked.response_type) == (
        CLIENT.id, APP, "code")
    assert checked.scope == ("openid", "users:readonly")
    assert (checked.state, checked.nonce, checked.code_challenge) == ("s-1", "n-1", CHALLENGE)
    assert checked.prompt == frozenset({"consent"})
    assert checked.in_fragment is False


def test_validate_defaults_to_the_clients_scopes() -> None:
    assert validate(request(scope=None), CLIENT, APP).scope == CLIENT.scopes


def test_validate_treats_a_blank_scope_as_absent() -> None:
    assert validate(request(scope="   "), CLIENT, APP).scope == CLIENT.scopes


def test_validate_removes_repeated_scope_tokens_keeping_order() -> None:
    checked = validate(request(scope="users:readonly openid users:readonly"), CLIENT, APP)
    assert checked.scope == ("users:readonly", "openid")


@pytest.mark.parametrize("scope", ["openid", "openid profile email", "profile"])
def test_validate_allows_oidc_scopes_for_any_code_client(scope: str) -> None:
    assert validate(request(scope=scope), CLIENT, APP).scope == tuple(scope.split())


def test_validate_does_not_require_pkce_when_the_client_opted_out() -> None:
    client = replace(CLIENT, require_pkce=False)
    checked = validate(request(code_challenge=None, code_challenge_method=None), client, APP)
    assert checked.code_challenge is None


def test_validate_binds_pkce_even_when_the_client_opted_out() -> None:
    client = replace(CLIENT, require_pkce=False)
    assert validate(request(), client, APP).code_challenge == CHALLENGE


def test_validate_policy_requires_pkce_of_a_client_that_opted_out() -> None:
    client = replace(CLIENT, require_pkce=False)
    with pytest.raises(InvalidRequestError, match="pkceRequired"):
        validate(request(code_challenge=None, code_challenge_method=None), client, APP,
                 policy_requires_pkce=True)
    assert validate(request(), client, APP, policy_requires_pkce=True).code_challenge == (
        CHALLENGE)


def test_validate_allows_implicit_only_for_clients_holding_token() -> None:
    client = replace(CLIENT, grant_types=frozenset({"CODE", "TOKEN"}))
    checked = validate(request(response_type="token", code_challenge=None,
                               code_challenge_method=None), client, APP)
    assert checked.in_fragment is True
    assert checked.code_challenge is None  # PKCE belongs to the code grant only


@pytest.mark.parametrize(("params", "client", "error"), [
    pytest.param(request(response_type=None), CLIENT, InvalidRequestError,
                 id="4.1.1-missing-response_type"),
    pytest.param(request(response_type="id_token"), CLIENT, UnsupportedResponseTypeError,
                 id="4.1.2.1-unsupported-response_type"),
    pytest.param(request(response_type="code token"), CLIENT, UnsupportedResponseTypeError,
                 id="4.1.2.1-hybrid-response_type"),
    pytest.param(request(response_type="CODE"), CLIENT, UnsupportedResponseTypeError,
                 id="4.1.2.1-response_type-case"),
    pytest.param(request(response_type="token"), CLIENT, UnauthorizedClientError,
                 id="4.2.2.1-token-for-a-code-only-client"),
    pytest.param(request(response_type="code"),
                 replace(CLIENT, grant_types=frozenset({"CLIENT-CREDENTIALS"})),
                 UnauthorizedClientError, id="4.1.2.1-code-for-a-client-credentials-client"),
    pytest.param(request(scope="oauth"), CLIENT, InvalidScopeError,
                 id="3.3-scope-the-client-lacks"),
    pytest.param(request(scope='openid "quoted"'), CLIENT, InvalidScopeError,
                 id="3.3-scope-bad-characters"),
    pytest.param(request(scope="openid offline_access"), CLIENT, InvalidScopeError,
                 id="3.3-unknown-oidc-scope"),
    pytest.param(request(code_challenge=None, code_challenge_method=None), CLIENT,
                 InvalidRequestError, id="7636-4.4.1-missing-challenge"),
    pytest.param(request(code_challenge=None, code_challenge_method=None),
                 replace(CLIENT, is_public=True, require_pkce=False), InvalidRequestError,
                 id="7636-4.4.1-public-client-always-needs-pkce"),
    pytest.param(request(code_challenge_method="plain"), CLIENT, InvalidRequestError,
                 id="9700-2.1.1-plain"),
    pytest.param(request(code_challenge_method=None), CLIENT, InvalidRequestError,
                 id="7636-4.3-method-missing"),
    pytest.param(request(code_challenge="short"), CLIENT, InvalidRequestError,
                 id="7636-4.2-malformed-challenge"),
    pytest.param(request(state="s" * (MAX_STATE + 1)), CLIENT, InvalidRequestError,
                 id="4.1.1-state-too-long"),
    pytest.param(request(nonce="n" * (MAX_NONCE + 1)), CLIENT, InvalidRequestError,
                 id="oidc-3.1.2.1-nonce-too-long"),
    pytest.param(request(prompt="none consent"), CLIENT, InvalidRequestError,
                 id="oidc-3.1.2.1-prompt-none-with-other"),
    pytest.param(request(prompt="sometimes"), CLIENT, InvalidRequestError,
                 id="oidc-3.1.2.1-prompt-unknown"),
    pytest.param(request(response_mode="form_post"), CLIENT, InvalidRequestError,
                 id="mrt-2.1-form_post-not-offered"),
    pytest.param(request(response_mode="bogus"), CLIENT, InvalidRequestError,
                 id="mrt-2.1-unknown-response_mode"),
    pytest.param(request(response_type="token", response_mode="query", code_challenge=None,
                         code_challenge_method=None),
                 replace(CLIENT, grant_types=frozenset({"TOKEN"})), InvalidRequestError,
                 id="mrt-2.1-query-must-not-carry-a-token"),
])
def test_validate_refuses(params: dict[str, str], client: RegisteredClient,
                          error: type[OAuthError]) -> None:
    with pytest.raises(error) as raised:
        validate(params, client, APP)
    assert raised.value.status_code == 400


@pytest.mark.parametrize(("params", "fragment"), [
    pytest.param(request(), False, id="code-defaults-to-query"),
    pytest.param(request(response_mode="query"), False, id="code-query"),
    pytest.param(request(response_mode="fragment"), True, id="code-fragment"),
])
def test_validate_response_mode(params: dict[str, str], fragment: bool) -> None:
    assert validate(params, CLIENT, APP).in_fragment is fragment


@pytest.mark.parametrize(("params", "fragment"), [
    pytest.param({"response_type": "code"}, False, id="code"),
    pytest.param({"response_type": "token"}, True, id="token"),
    pytest.param({"response_type": "token", "response_mode": "query"}, True,
                 id="token-query-is-refused-in-the-fragment"),
    pytest.param({"response_type": "code", "response_mode": "fragment"}, True,
                 id="code-fragment"),
    pytest.param({"response_type": "code", "response_mode": "bogus"}, False,
                 id="unknown-mode-uses-the-default"),
    pytest.param({"response_type": "token", "response_mode": "bogus"}, True,
                 id="unknown-mode-token-default"),
    pytest.param({}, False, id="nothing"),
])
def test_error_in_fragment(params: dict[str, str], fragment: bool) -> None:
    assert error_in_fragment(params) is fragment


def test_validate_accepts_state_and_nonce_at_their_limits() -> None:
    checked = validate(request(state="s" * MAX_STATE, nonce="n" * MAX_NONCE), CLIENT, APP)
    assert (checked.state, checked.nonce) == ("s" * MAX_STATE, "n" * MAX_NONCE)


# -- answer and error_answer (§4.1.2, §4.1.2.1, §4.2.2, RFC 9207) --

def test_answer_adds_the_code_state_and_iss_to_the_query() -> None:
    url = answer(APP, {"code": "c0de", "state": "s 1&x=y", "iss": ISSUER}, fragment=False)
    assert url.startswith(APP + "?")
    assert query_of(url) == {"code": ["c0de"], "state": ["s 1&x=y"], "iss": [ISSUER]}


def test_answer_keeps_the_registered_query() -> None:
    url = answer("https://app.example/cb?tenant=1", {"code": "c0de"}, fragment=False)
    assert query_of(url) == {"tenant": ["1"], "code": ["c0de"]}


def test_answer_leaves_out_absent_values() -> None:
    url = answer(APP, {"code": "c0de", "state": None}, fragment=False)
    assert query_of(url) == {"code": ["c0de"]}


def test_answer_for_implicit_goes_in_the_fragment() -> None:
    url = answer(APP, {"access_token": "t0ken", "state": "s-1"}, fragment=True)
    parts = urlsplit(url)
    assert parts.query == ""
    assert parse_qs(parts.fragment) == {"access_token": ["t0ken"], "state": ["s-1"]}


def test_error_answer_carries_error_description_state_and_iss() -> None:
    url = error_answer(APP, AccessDeniedError("the user denied the request"), state="s-1",
                       issuer=ISSUER)
    assert url.startswith(APP + "?")
    query = query_of(url)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s-1"]
    assert query["iss"] == [ISSUER]
    assert query["error_description"][0]


def test_error_answer_without_state_sends_none() -> None:
    url = error_answer(APP, InvalidScopeError("nope"), state=None, issuer=ISSUER)
    assert set(query_of(url)) == {"error", "error_description", "iss"}


def test_error_answer_for_implicit_goes_in_the_fragment() -> None:
    url = error_answer(APP, AccessDeniedError("no"), state="s-1", issuer=ISSUER, fragment=True)
    parts = urlsplit(url)
    assert parse_qs(parts.fragment)["error"] == ["access_denied"]
    assert parts.query == ""
