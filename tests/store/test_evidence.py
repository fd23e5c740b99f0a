"""The evidence store on both stores: days add up, only existing clients are kept, networks are
capped per client-day, a window reads only its days, old days are purged."""

from __future__ import annotations

from datetime import date, timedelta

from starlette.testclient import TestClient

from keystead.domain.governance.evidence import (
    MAX_NETWORKS_PER_DAY,
    Evidence,
    EvidenceCount,
    Kind,
)
from keystead.store.evidence import SqlEvidence
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import Registered

TODAY = date(2026, 12, 5)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def add(http: TestClient, rows: list[EvidenceCount]) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await SqlEvidence(conn).add(rows)

    run(http, work)


def over(http: TestClient, client_ids: list[str], since: date) -> dict[str, Evidence]:
    async def work(runtime: Runtime) -> dict[str, Evidence]:
        async with runtime.transaction() as conn:
            return dict(await SqlEvidence(conn).over(client_ids, since))

    return run(http, work)


def test_evidence_adds_up_days_and_flushes(http: TestClient, admin: Registered) -> None:
    me = admin.id
    yesterday = TODAY - timedelta(days=1)
    add(http, [EvidenceCount(me, yesterday, Kind.grant, "client_credentials", 2),
               EvidenceCount(me, yesterday, Kind.scope, "admin", 2),
               EvidenceCount(me, TODAY, Kind.failure, "wrong or expired secret", 1)])
    add(http, [EvidenceCount(me, TODAY, Kind.grant, "client_credentials", 3),
               EvidenceCount(me, TODAY, Kind.permission, "oauth:client:view", 1),
               EvidenceCount(me, TODAY, Kind.network, "203.0.113.0/24", 3)])

    evidence = over(http, [me], yesterday)[me]

    assert evidence.tokens_by_grant == {"client_credentials": 5}
    assert evidence.tokens == 5
    assert evidence.failures_by_reason == {"wrong or expired secret": 1}
    assert evidence.scopes_granted == {"admin"}
    assert evidence.permissions_exercised == {"oauth:client:view"}
    assert evidence.networks == {"203.0.113.0/24"}
    assert (evidence.first_day, evidence.last_day) == (yesterday, TODAY)


def test_evidence_window_reads_only_its_days(http: TestClient, admin: Registered) -> None:
    me = admin.id
    add(http, [EvidenceCount(me, TODAY - timedelta(days=91), Kind.scope, "old-scope", 1),
               EvidenceCount(me, TODAY, Kind.scope, "admin", 1)])

    assert over(http, [me], TODAY - timedelta(days=90))[me].scopes_granted == {"admin"}


def test_evidence_of_a_client_that_does_not_exist_is_not_kept(http: TestClient,
                                                              admin: Registered) -> None:
    add(http, [EvidenceCount(UNKNOWN, TODAY, Kind.failure, "wrong or expired secret", 9)])

    assert over(http, [UNKNOWN, admin.id], TODAY) == {
        UNKNOWN: Evidence(), admin.id: Evidence()}


def test_evidence_networks_are_capped_per_client_day(http: TestClient,
                                                     admin: Registered) -> None:
    me = admin.id
    networks = [f"198.51.{n}.0/24" for n in range(MAX_NETWORKS_PER_DAY + 5)]
    add(http, [EvidenceCount(me, TODAY, Kind.network, n, 1) for n in networks[:20]])
    add(http, [EvidenceCount(me, TODAY, Kind.network, n, 1) for n in networks[10:]])
    add(http, [EvidenceCount(me, TODAY - timedelta(days=1), Kind.network, networks[-1], 1)])

    seen = over(http, [me], TODAY - timedelta(days=1))[me].networks

    assert len(seen) == MAX_NETWORKS_PER_DAY + 1
    assert set(networks[:MAX_NETWORKS_PER_DAY]) | {networks[-1]} == seen
