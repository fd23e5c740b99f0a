"""Unit tests of form parsing (RFC 6749 §3.2) and reading client credentials (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64

import pytest

from keystead.protocol.client_auth import Credentials, read_credentials
from keystead.protocol.errors import InvalidClientError, InvalidRequestError, OAuthError
from keystead.protocol.params import parse_form


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_parse_form_decodes_percent_and_plus() -> None:
    form = parse_form(b"grant_type=client_credentials&scope=oauth%3Areadonly+audits%3Areadonly")
    assert form == {"grant_type": "client_credentials",
                    "scope": "oauth:readonly audits:readonly"}


@pytest.mark.parametrize("body", [
    pytest.param(b"scope=a&scope=b", id="3.2-repeated-with-different-values"),
    pytest.param(b"scope=a&scope=a", id="3.2-repeated-with-the-same-value"),
    pytest.param(b"grant_type=x&grant_type=", id="3.2-repeated-once-empty"),
    pytest.param(b"client_id=a&client_id=b", id="2.3.1-repeated-client_id"),
])
def test_parse_form_rejects_repeated_parameters(body: bytes) -> None:
    with pytest.raises(InvalidRequestError):
        parse_form(body)


def test_parse_form_treats_empty_values_as_omitted() -> None:
    # RFC 6749 §3.2: parameters sent without a value MUST be treated as if omitted.
    assert parse_form(b"grant_type=client_credentials&scope=&client_secret") == {
        "grant_type": "client_credentials"}


def test_parse_form_rejects_bytes_that_are_not_utf8() -> None:
    with pytest.raises(InvalidRequestError):
        parse_form(b"client_secret=\xff\xfe")


def test_read_credentials_from_basic_header() -> None:
    credentials = read_credentials(basic(b"client-1:s3cret"), {"grant_type": "x"})
    assert credentials == Credentials("client-1", "s3cret", "client_secret_basic")


def test_read_credentials_basic_scheme_is_case_insensitive() -> None:
    credentials = read_credentials("bAsIc " + basic(b"id:secret")[6:], {})
    assert credentials == Credentials("id", "secret", "client_secret_basic")


def test_read_credentials_basic_values_are_form_urlencoded() -> None:
    # RFC 6749 §2.3.1: id and secret are application/x-www-form-urlencoded before Base64.
    credentials = read_credentials(basic(b"my%3Aclient:p%40ss+word%2B"), {})
    assert credentials == Credentials("my:client", "p@ss word+", "client_secret_basic")


def test_read_credentials_basic_secret_may_hold_a_colon() -> None:
    credentials = read_credentials(basic(b"id:with:colons"), {})
    assert credentials is not None
    assert (credentials.client_id, credentials.secret) == ("id", "with:colons")


def test_read_credentials_from_form_body() -> None:
    credentials = read_credentials(None, {"client_id": "id", "client_secret": "secret"})
    assert credentials == Credentials("id", "secret", "client_secret_post")


def test_read_credentials_basic_beside_a_form_client_id_uses_basic() -> None:
    # Common libraries send client_id in the body as well; that is one method, not two.
    credentials = read_credentials(basic(b"id:secret"), {"client_id": "id"})
    assert credentials == Credentials("id", "secret", "client_secret_basic")


def test_read_credentials_without_any_is_none() -> None:
    assert read_credentials(None, {"grant_type": "client_credentials"}) is None


def test_read_credentials_client_id_alone_is_not_credentials() -> None:
    assert read_credentials(None, {"client_id": "id"}) is None


def test_read_credentials_ignores_a_bearer_header() -> None:
    assert read_credentials("Bearer abc", {}) is None


@pytest.mark.parametrize(("authorization", "form", "error"), [
    pytest.param(basic(b"id:secret"), {"client_secret": "secret"}, InvalidRequestError,
                 id="2.3.1-basic-and-client_secret-in-body"),
    pytest.param(basic(b"id:secret"), {"client_id": "id", "client_secret": "x"},
                 InvalidRequestError, id="2.3.1-basic-and-both-in-body"),
    pytest.param("Basic !!!not-base64!!!", {}, InvalidClientError, id="2.3.1-basic-not-base64"),
    pytest.param(basic(b"no-colon-here"), {}, InvalidClientError, id="2.3.1-basic-without-colon"),
    pytest.param(basic(b"\xff\xfe:\xfd"), {}, InvalidClientError, id="2.3.1-basic-not-utf8"),
    pytest.param("Basic ", {}, InvalidClientError, id="2.3.1-basic-empty"),
    pytest.param("Basic d\xfcrer", {}, InvalidClientError, id="2.3.1-basic-not-ascii"),
])
def test_read_credentials_rejects(authorization: str, form: dict[str, str],
                                  error: type[OAuthError]) -> None:
    with pytest.raises(error):
        read_credentials(authorization, form)
