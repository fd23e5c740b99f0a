"""Issuance at the authorization endpoint (protocol/authorization_issuance.py) on the real store:
the consent just given, the grant family and the code are written in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.authorizations import Consent
from keystead.protocol import authorize as rules
from keystead.protocol.authorization_issuance import Authorizer, Started
from keystead.store.tables import authorization_codes, consents, grant_families
from keystead.web.runtime import Runtime
from tests.oauth_flows import REDIRECT_URI, code_client, pkce_pair
from tests.people import create_user
from tests.support.apps import run

pytestmark = pytest.mark.postgres


class Abandoned(Exception):  # noqa: N818 - raised to roll the transaction back
    pass


def _counts(http: TestClient) -> list[int]:
    """How many consents, grant families and codes are stored."""
    async def work(runtime: Runtime) -> list[int]:
        async with runtime.transaction() as conn:
            return [int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
                    for t in (consents, grant_families, authorization_codes)]
    return run(http, work)


def _issue(http: TestClient, *, response_type: str, fail_after: bool) -> Started | None:
    client_id = code_client(http).id
    person = create_user(http, "issued@example.com")
    challenge = pkce_pair().challenge

    async def work(runtime: Runtime) -> Started | None:
        async with runtime.transaction() as conn:
            client = await runtime.authorization_records(conn).registered_client(client_id)
        assert client is not None
        request = rules.validate({"response_type": response_type, "client_id": client_id,
                                  "redirect_uri": REDIRECT_URI, "scope": "users:readonly",
                                  "code_challenge": challenge,
                                  "code_challenge_method": "S256"},
                                 client, REDIRECT_URI, policy_requires_pkce=True)
        now = runtime.clock()
        started = None
        try:
            async with runtime.transaction() as conn:
                started = await runtime.issuance.start(
                    runtime.authorization_records(conn), client, request,
                    Authorizer(person.id, now, ("pwd",), "no-session"),
                    consent=Consent(request.scope, client.scopes, now))
                if fail_after:
                    raise Abandoned
        except Abandoned:
            return None
        return started
    return run(http, work)


def test_consent_family_and_code_are_written_together(http: TestClient) -> None:
    before = _counts(http)
    started = _issue(http, response_type="code", fail_after=False)
    assert started is not None
    assert started.code
    assert _counts(http) == [n + 1 for n in before]


def test_a_rolled_back_answer_leaves_no_consent_family_or_code(http: TestClient) -> None:
    before = _counts(http)
    assert _issue(http, response_type="code", fail_after=True) is None
    assert _counts(http) == before


def test_code_lives_as_long_as_the_setting_says(http: TestClient, settings: Settings) -> None:
    started = _issue(http, response_type="code", fail_after=False)
    assert started is not None

    async def work(runtime: Runtime) -> timedelta:
        async with runtime.transaction() as conn:
            row = (await conn.execute(select(authorization_codes.c.expires_at, grant_families.c
                                             .created_at).join(grant_families, grant_families
                                             .c.id == authorization_codes.c.family_id))).one()
        return row[0] - row[1]  # type: ignore[no-any-return]
    assert run(http, work) == timedelta(seconds=settings.authorization_code_ttl_seconds)
