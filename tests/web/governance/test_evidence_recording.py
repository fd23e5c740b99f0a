"""Evidence of use recorded from real requests: tokens by grant with their scopes and source
networks, failures by reason (never a secret), the permissions a client exercised on the
management API; nothing for unknown clients, nothing when recording is off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.governance.evidence import Evidence
from keystead.store.evidence import SqlEvidence
from keystead.store.governance_tables import client_evidence
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import Registered
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, token

CC = {"grant_type": "client_credentials"}


@contextmanager
def replica(settings: Settings, clock: ManualClock, address: str) -> Iterator[TestClient]:
    """An app over the same database whose callers come from ``address``."""
    app = create_app(settings, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver", client=(address, 50000)) as client:
        yield client


def flush(http: TestClient) -> None:
    async def work(runtime: Runtime) -> None:
        await runtime.flush_evidence()

    run(http, work)


def evidence_of(http: TestClient, client_id: str, clock: ManualClock) -> Evidence:
    async def work(runtime: Runtime) -> Evidence:
        async with runtime.transaction() as conn:
            found = await SqlEvidence(conn).over([client_id], clock.now.date()
                                                 - timedelta(days=1))
            return found[client_id]

    return run(http, work)


def stored_items(http: TestClient) -> list[str]:
    async def work(runtime: Runtime) -> list[str]:
        async with runtime.transaction() as conn:
            return list((await conn.execute(select(client_evidence.c.item))).scalars())

    return run(http, work)


def test_evidence_tokens_by_grant_with_scopes_and_networks(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    with replica(settings, clock, "203.0.113.7") as v4, \
            replica(settings, clock, "2001:db8:1:2::9") as v6:
        granted = v4.post("/oauth/token", data=CC, auth=admin.basic_auth).json()["scope"]
        assert v6.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
        flush(v4)
        flush(v6)

    evidence = evidence_of(http, admin.id, clock)

    assert evidence.tokens_by_grant == {"client_credentials": 2}
    assert evidence.scopes_granted == set(granted.split())
    assert evidence.networks == {"203.0.113.0/24", "2001:db8:1:2::/64"}
    assert evidence.last_day == clock.now.date()


def test_evidence_failures_by_reason_never_the_secret(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    wrong = "not-the-secret-" + "z" * 30
    with replica(settings, clock, "198.51.100.4") as caller:
        assert caller.post("/oauth/token", data=CC,
                           auth=(admin.id, wrong)).status_code == 401
        assert caller.post("/oauth/token", data=CC | {"scope": "no-such-scope"},
                           auth=admin.basic_auth).status_code == 400
        # An id that names no client leaves no evidence: an attacker cannot grow the table.
        assert caller.post("/oauth/token", data=CC,
                           auth=("00000000-0000-4000-8000-000000000000", wrong)
                           ).status_code == 401
        flush(caller)

    evidence = evidence_of(http, admin.id, clock)

    assert evidence.failures_by_reason == {"wrong or expired secret": 1, "invalid_scope": 1}
    assert evidence.tokens == 0
    items = stored_items(http)
    assert not [i for i in items if wrong in i or admin.secret in i]
    assert not [i for i in items if "00000000-0000" in i]


def test_evidence_permissions_exercised_on_the_management_api(
        http: TestClient, clock: ManualClock, admin: Registered) -> None:
    headers = bearer(token(http, admin))
    assert http.get("/api/v2/oauth/clients", headers=headers).status_code == 200
    assert http.get("/api/v2/authorization/roles", headers=headers).status_code == 200
    flush(http)

    exercised = evidence_of(http, admin.id, clock).permissions_exercised

    assert {"oauth:client:view", "authorization:role:view"} <= exercised
    assert "oauth:client:delete" not in exercised


def test_evidence_not_recorded_when_turned_off(
        http: TestClient, settings: Settings, clock: ManualClock, admin: Registered) -> None:
    off = settings.model_copy(update={"evidence_recording": False})
    with replica(off, clock, "203.0.113.7") as caller:
        assert caller.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
        flush(caller)

    assert evidence_of(http, admin.id, clock) == Evidence()
