"""`implicit-in-use`: a legacy client that still gets tokens through the implicit grant is a
finding, with how many in the window, read from the audited uses."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.oauth_flows import REDIRECT_URI, authorize, signed_in_person
from tests.support.apps import run
from tests.support.findings import change_client, evaluate, findings_of


def legacy_client(http: TestClient) -> str:
    """A TOKEN client imported by the operator with its pre-cut-off creation date."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            issued = await runtime.management(conn).create(operator(), ClientSettings(
                name="legacy spa", grant_types=(GrantType.token,), scopes=("users:readonly",),
                redirect_uris=(REDIRECT_URI,)), date_created=datetime(2025, 6, 1, tzinfo=UTC))
        return issued.client.id

    return run(http, work)


def test_findings_implicit_in_use_counts_the_implicit_tokens(
        http: TestClient, headers: dict[str, str]) -> None:
    client_id = legacy_client(http)
    evaluate(http, headers)
    assert "implicit-in-use" not in findings_of(http, headers, client_id)
    signed_in_person(http)
    for _ in range(2):
        response = authorize(http, client_id, scope="users:readonly", response_type="token")
        assert "access_token=" in response.headers["location"]
    evaluate(http, headers)
    found = findings_of(http, headers, client_id)["implicit-in-use"]
    assert found["evidence"]["implicitTokens"] == 2
    assert found["severity"] == "high"
    assert found["remedy"]["available"] is False
    change_client(http, client_id, grant_types=(GrantType.code,))  # moved to CODE with PKCE
    assert findings_of(http, headers, client_id)["implicit-in-use"]["state"] == "resolved"
