"""Implicit grant, legacy only (RFC 6749 §4.2; RFC 9700 §2.1.2 says don't): it works only for
clients that carried TOKEN before 2026-03-01, answers in the fragment with a short-lived token
and no refresh token, and every use is audited as deprecated and shown on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.factories import introspect, run, service
from tests.oauth_flows import REDIRECT_URI, answer_of, authorize, code_client, signed_in_person
from tests.people import Console

BEFORE_CUTOFF = datetime(2025, 6, 1, tzinfo=UTC)


def _legacy_client(http: TestClient, name: str = "legacy spa") -> str:
    """A TOKEN client imported by the operator with its pre-cut-off creation date."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            issued = await runtime.management(conn).create(operator(), ClientSettings(
                name=name, grant_types=(GrantType.token,), scopes=("users:readonly",),
                redirect_uris=(REDIRECT_URI,)), date_created=BEFORE_CUTOFF)
        return issued.client.id

    return run(http, work)


def _implicit(http: TestClient, client_id: str) -> dict[str, str]:
    response = authorize(http, client_id, scope="users:readonly", response_type="token")
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
