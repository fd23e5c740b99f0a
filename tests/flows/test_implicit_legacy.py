"""Implicit grant, legacy only (RFC 6749 §4.2; RFC 9700 §2.1.2 says don't): it works only for
clients that carried TOKEN before 2026-03-01, answers in the fragment with a short-lived token
and no refresh token, and every use is audited as deprecated and shown on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType, TokenFormat
from keystead.domain.principal import operator
from keystead.protocol.keys import ALG
from keystead.web.runtime import Runtime
from tests.oauth_flows import REDIRECT_URI, answer_of, authorize, code_client, signed_in_person
from tests.people import Console
from tests.support.apps import run
from tests.support.clients import CLIENTS, service
from tests.support.tokens import TOKEN_FORMATS, bearer, challenge, introspect

BEFORE_CUTOFF = datetime(2025, 6, 1, tzinfo=UTC)


def _legacy_client(http: TestClient, name: str = "legacy spa", *,
                   scopes: tuple[str, ...] = ("users:readonly",),
                   token_format: TokenFormat = TokenFormat.opaque) -> str:
    """A TOKEN client imported by the operator with its pre-cut-off creation date."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            issued = await runtime.management(conn).create(operator(), ClientSettings(
                name=name, grant_types=(GrantType.token,), scopes=scopes,
                redirect_uris=(REDIRECT_URI,), token_format=token_format),
                date_created=BEFORE_CUTOFF)
        return issued.client.id

    return run(http, work)


def _implicit(http: TestClient, client_id: str,
              scope: str = "users:readonly") -> dict[str, str]:
    response = authorize(http, client_id, scope=scope, response_type="token")
    assert "#" in response.headers["location"]
    assert "?" not in response.headers["location"].split("#")[0]
    return answer_of(response)


def test_legacy_client_gets_a_short_lived_token_in_the_fragment(http: TestClient) -> None:
    client_id = _legacy_client(http)
    signed_in_person(http)
    answer = _implicit(http, client_id)
    assert answer["token_type"] == "Bearer"
    assert int(answer["expires_in"]) <= 900
    assert answer["state"] == "s-123"
    assert "refresh_token" not in answer
    assert "code" not in answer
    checker = service(http)
    assert introspect(http, checker, answer["access_token"]).json()["active"] is True


@pytest.mark.parametrize("fmt", TOKEN_FORMATS)
def test_implicit_token_of_an_admin_never_reaches_the_management_api(http: TestClient,
                                                                    fmt: str) -> None:
    """Issue 9 §2: implicit tokens travel in URLs; whatever their scope and their user's
    permissions, the management API answers 401 invalid_token."""
    client_id = _legacy_client(http, scopes=("oauth", "users:readonly"),
                               token_format=TokenFormat(fmt))
    signed_in_person(http, "boss@example.com", roles=("Super Admin",))
    answer = _implicit(http, client_id, scope="oauth users:readonly")
    assert answer["scope"] == "oauth users:readonly"
    value = answer["access_token"]
    for path in (CLIENTS, "/api/v2/users", "/api/v2/tokens/me", "/api/v2/oauth/authorizations"):
        response = http.get(path, headers=bearer(value))
        assert response.status_code == 401, (path, response.text)
        assert challenge(response)["error"] == "invalid_token"
    # Active for what it is for, and not for the management API.
    body = introspect(http, service(http), value).json()
    assert body["active"] is True
    assert body["aud"] == ["http://testserver"]
    if fmt == "jwt":
        keys = KeySet.import_key_set(http.get("/oauth/jwks").json())
        claims = jwt.decode(value, keys, algorithms=[ALG]).claims
        assert (claims["aud"], claims["ks_via"]) == (["http://testserver"], "implicit")


def test_implicit_use_is_audited_as_deprecated_and_shown_on_the_dashboard(
        console: Console) -> None:
    client_id = _legacy_client(console.http, "old portal")
    _implicit(console.http, client_id)
    page = console.http.get("/admin").text
    section = page.split('id="deprecated-grants"')[1].split("</section>")[0]
    assert "old portal" in section
    audit = console.http.get("/admin/audit", params={"action": "grant.implicit.use"}).text
    assert "old portal" in audit


def test_a_code_client_cannot_use_the_implicit_grant(http: TestClient) -> None:
    client = code_client(http)
    signed_in_person(http)
    response = authorize(http, client.id, response_type="token")
    answer = answer_of(response)
    assert answer["error"] == "unauthorized_client"
    assert "access_token" not in answer
