"""Redirect-URI registration rules: RFC 6749 §3.1.2, RFC 8252 §7 (native apps), RFC 9700 §4.1."""

from __future__ import annotations

import pytest

from keystead.domain.redirect_uris import (
    MAX_REDIRECT_URIS,
    check_redirect_uri,
    check_redirect_uris,
    is_loopback,
)


@pytest.mark.parametrize("uri", [
    pytest.param("https://app.example.com/cb", id="https"),
    pytest.param("https://app.example.com:8443/oauth/cb?tenant=1", id="https-port-query"),
    pytest.param("https://app.example.com", id="https-no-path"),
    pytest.param("http://localhost:3000/cb", id="8252-7.3-localhost-port"),
    pytest.param("http://localhost/cb", id="8252-7.3-localhost"),
    pytest.param("http://127.0.0.1/cb", id="8252-7.3-ipv4-loopback"),
    pytest.param("http://127.0.0.1:51234/cb", id="8252-7.3-ipv4-loopback-port"),
    pytest.param("http://[::1]:8080/cb", id="8252-7.3-ipv6-loopback-port"),
    pytest.param("http://[::1]/cb", id="8252-7.3-ipv6-loopback"),
    pytest.param("com.example.app://cb", id="8252-7.1-private-use"),
    pytest.param("com.example.app:/cb", id="8252-7.1-reverse-domain"),
    pytest.param("com.example.app:/oauth2redirect/provider", id="8252-7.1-reverse-domain-path"),
])
def test_redirect_uri_accepts(uri: str) -> None:
    assert check_redirect_uri(uri) is None


@pytest.mark.parametrize("uri", [
    pytest.param("http://app.example.com/cb", id="9700-2.6-plain-http"),
    pytest.param("http://localhost.evil.example/cb", id="http-localhost-prefix-domain"),
    pytest.param("http://127.0.0.1.evil.example/cb", id="http-loopback-prefix-domain"),
    pytest.param("http://127.0.0.2/cb", id="http-other-loopback-address"),
    pytest.param("http://[::2]/cb", id="http-other-ipv6"),
    pytest.param("https://app.example.com/cb#frag", id="3.1.2-fragment"),
    pytest.param("https://app.example.com/cb#", id="3.1.2-empty-fragment"),
    pytest.param("com.example.app://cb#frag", id="3.1.2-private-use-fragment"),
    pytest.param("https://*.example.com/cb", id="wildcard-host"),
    pytest.param("https://app.example.com/*", id="wildcard-path"),
    pytest.param("https://user:pw@app.example.com/cb", id="userinfo"),
    pytest.param("http://localhost@evil.example/cb", id="userinfo-disguised-loopback"),
    pytest.param("http://evil.example@localhost/cb", id="userinfo-on-loopback"),
    pytest.param("/cb", id="3.1.2-relative-path"),
    pytest.param("cb", id="3.1.2-relative-name"),
    pytest.param("//app.example.com/cb", id="3.1.2-scheme-relative"),
    pytest.param("app.example.com/cb", id="3.1.2-no-scheme"),
    pytest.param("", id="empty"),
    pytest.param(" https://app.example.com/cb", id="leading-space"),
    pytest.param("https:///cb", id="https-no-host"),
    pytest.param("https://app.example.com:99999/cb", id="bad-port"),
    pytest.param("http://localhost:port/cb", id="non-numeric-port"),
    pytest.param("javascript:alert(1)", id="javascript-scheme"),
    pytest.param("data:text/html,hi", id="data-scheme"),
    pytest.param("file:///etc/passwd", id="file-scheme"),
    pytest.param("myapp://cb", id="8252-7.1-private-use-without-dot"),
    pytest.param("myapp:/cb", id="8252-7.1-private-use-path-without-dot"),
    pytest.param("https://app.example.com/" + "a" * 2048, id="too-long"),
])
def test_redirect_uri_refuses(uri: str) -> None:
    assert check_redirect_uri(uri) is not None


@pytest.mark.parametrize(("uri", "loopback"), [
    pytest.param("http://localhost:1234/cb", True, id="localhost"),
    pytest.param("http://127.0.0.1/cb", True, id="ipv4"),
    pytest.param("http://[::1]:9/cb", True, id="ipv6"),
    pytest.param("https://localhost/cb", False, id="https-is-exact-match"),
    pytest.param("http://app.example.com/cb", False, id="remote-host"),
    pytest.param("com.example.app://localhost", False, id="private-use"),
])
def test_redirect_uri_is_loopback(uri: str, loopback: bool) -> None:
    assert is_loopback(uri) is loopback


def test_redirect_uris_accept_a_full_registration() -> None:
    uris = [f"https://app.example.com/cb/{n}" for n in range(MAX_REDIRECT_URIS)]
    assert MAX_REDIRECT_URIS == 125
    assert check_redirect_uris(uris) == []


def test_redirect_uris_refuse_one_too_many() -> None:
    uris = [f"https://app.example.com/cb/{n}" for n in range(MAX_REDIRECT_URIS + 1)]
    assert [(p.field, p.code) for p in check_redirect_uris(uris)] == [
        ("registeredRedirectUri", "too.many")]


def test_redirect_uris_require_one() -> None:
    assert [(p.field, p.code) for p in check_redirect_uris([])] == [
        ("registeredRedirectUri", "required")]


def test_redirect_uris_refuse_duplicates_naming_the_repeat() -> None:
    problems = check_redirect_uris(["https://a.example/cb", "https://b.example/cb",
                                    "https://a.example/cb"])
    assert [(p.field, p.code) for p in problems] == [("registeredRedirectUri[2]", "duplicate")]


def test_redirect_uris_are_case_sensitive_strings() -> None:
    # Matching is exact and case-sensitive, so these are two different registrations.
    assert check_redirect_uris(["https://app.example.com/CB", "https://app.example.com/cb"]) == []


def test_redirect_uris_name_each_bad_entry() -> None:
    problems = check_redirect_uris(["https://ok.example/cb", "http://bad.example/cb",
                                    "https://ok.example/cb#x"])
    assert [(p.field, p.code) for p in problems] == [
        ("registeredRedirectUri[1]", "invalid.uri"), ("registeredRedirectUri[2]", "invalid.uri")]
