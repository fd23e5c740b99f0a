"""RFC 7636 PKCE as Keystead enforces it: S256 only (RFC 9700 §2.1.1), required where the client
says so, and a verifier that must hash to the challenge the code was bound to."""

from __future__ import annotations

import base64
import hashlib

import pytest

from keystead.protocol.errors import InvalidGrantError, InvalidRequestError, OAuthError
from keystead.protocol.pkce import check_challenge, verify

# RFC 7636 Appendix B: the worked example.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# -- the authorization request (RFC 7636 §4.3, §4.4.1) --

@pytest.mark.parametrize("required", [True, False])
def test_check_challenge_binds_an_s256_challenge(required: bool) -> None:
    assert check_challenge(RFC_CHALLENGE, "S256", required=required) == RFC_CHALLENGE


def test_check_challenge_allows_no_pkce_when_not_required() -> None:
    assert check_challenge(None, None, required=False) is None


@pytest.mark.parametrize(("challenge", "method", "required"), [
    pytest.param(None, None, True, id="4.4.1-missing-where-required"),
    pytest.param(None, "S256", False, id="4.3-method-without-challenge"),
    pytest.param(RFC_VERIFIER, "plain", True, id="9700-2.1.1-plain-refused"),
    pytest.param(RFC_VERIFIER, "plain", False, id="9700-2.1.1-plain-refused-when-optional"),
    pytest.param(RFC_CHALLENGE, None, True, id="4.3-absent-method-means-plain"),
    pytest.param(RFC_CHALLENGE, "s256", True, id="4.3-method-is-case-sensitive"),
    pytest.param(RFC_CHALLENGE, "S512", True, id="4.3-unknown-method"),
    pytest.param(RFC_CHALLENGE[:-1], "S256", True, id="4.2-challenge-42-chars"),
    pytest.param(RFC_CHALLENGE + "A", "S256", True, id="4.2-challenge-44-chars"),
    pytest.param(RFC_CHALLENGE[:-1] + "=", "S256", True, id="4.2-challenge-padded"),
    pytest.param(RFC_CHALLENGE[:-2] + "+/", "S256", True, id="4.2-challenge-not-base64url"),
    pytest.param("", "S256", True, id="4.2-challenge-empty"),
    pytest.param(RFC_CHALLENGE + "\n", "S256", True, id="4.2-challenge-trailing-newline"),
])
def test_check_challenge_refuses(challenge: str | None, method: str | None,
                                 required: bool) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        check_challenge(challenge, method, required=required)
    assert raised.value.error == "invalid_request"


# -- the token request (RFC 7636 §4.5, §4.6) --

def test_verify_accepts_the_rfc_7636_appendix_b_example() -> None:
    verify(RFC_CHALLENGE, RFC_VERIFIER)  # raises on failure


@pytest.mark.parametrize("length", [43, 128])
def test_verify_accepts_verifiers_at_both_length_limits(length: int) -> None:
    verifier = ("abcXYZ019-._~" * 10)[:length]
    verify(s256(verifier), verifier)


def test_verify_without_pkce_on_either_side_passes() -> None:
    verify(None, None)


@pytest.mark.parametrize(("challenge", "verifier"), [
    pytest.param(RFC_CHALLENGE, None, id="4.5-missing-verifier"),
    pytest.param(RFC_CHALLENGE, RFC_VERIFIER[:-1] + "l", id="4.6-wrong-verifier"),
    pytest.param(RFC_CHALLENGE, RFC_CHALLENGE, id="4.6-challenge-sent-as-verifier"),
    pytest.param(s256("a" * 42), "a" * 42, id="4.1-verifier-42-chars"),
    pytest.param(s256("a" * 129), "a" * 129, id="4.1-verifier-129-chars"),
    pytest.param(s256("a" * 42 + "+"), "a" * 42 + "+", id="4.1-verifier-reserved-char"),
    pytest.param(s256("a" * 42 + " "), "a" * 42 + " ", id="4.1-verifier-space"),
    pytest.param(s256("a" * 43 + "\n"), "a" * 43 + "\n", id="4.1-verifier-trailing-newline"),
])
def test_verify_refuses_with_invalid_grant(challenge: str | None, verifier: str | None) -> None:
    with pytest.raises(InvalidGrantError) as raised:
        verify(challenge, verifier)
    assert raised.value.error == "invalid_grant"
    assert raised.value.status_code == 400


def test_verify_refuses_a_verifier_for_a_code_without_challenge() -> None:
    # RFC 9700 §2.1.1 (a PKCE downgrade); OAuth 2.1 §3.2.4 names the error invalid_request.
    with pytest.raises(InvalidRequestError) as raised:
        verify(None, RFC_VERIFIER)
    assert raised.value.error == "invalid_request"
    assert raised.value.status_code == 400


def test_verify_errors_never_echo_the_verifier() -> None:
    errors: list[OAuthError] = []
    for challenge, verifier in ((RFC_CHALLENGE, "x" * 43), (None, RFC_VERIFIER)):
        with pytest.raises((InvalidGrantError, InvalidRequestError)) as raised:
            verify(challenge, verifier)
        errors.append(raised.value)
    for error, secret in zip(errors, ("x" * 43, RFC_VERIFIER), strict=True):
        assert secret not in (error.description or "")
        assert secret not in (error.detail or "")
