"""The scheduled findings evaluation: a supervised loop on every replica, one evaluating at a
time (the others skip their round while one holds the lock)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.findings import claim_evaluation
from keystead.web.app import background_loops, evaluate_findings
from keystead.web.metrics import Metrics
from keystead.web.runtime import Runtime
from tests.support.apps import run, runtime_of
from tests.support.clients import Registered
from tests.support.clock import ManualClock
from tests.support.findings import DAY, findings_of
from tests.support.management import audit_events
from tests.support.tokens import bearer, token


def test_findings_schedule_is_a_supervised_loop(http: TestClient) -> None:
    loops = background_loops(runtime_of(http), Metrics(), housekeeping=True)
    findings = [loop for loop in loops if loop.name == "findings"]
    assert len(findings) == 1
    assert findings[0].interval <= 86_400  # at least daily


def test_findings_schedule_evaluates_every_client_as_the_system(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    clock.advance(31 * DAY)  # nothing changed, but the secret grew past its rotation age
    headers = bearer(token(http, admin))
    assert "secret-rotation-due" not in findings_of(http, headers, admin.id)
    run(http, evaluate_findings)
    assert "secret-rotation-due" in findings_of(http, headers, admin.id)
    [entry] = audit_events(http, headers, action="evaluate")
    assert entry["context"]["actorKind"] == "system"


def test_findings_schedule_skips_while_another_replica_evaluates_postgres(
        http: TestClient, admin: Registered, store: str, settings: Settings,
        clock: ManualClock) -> None:
    if store != "postgres":
        pytest.skip("SQLite has one writer at a time: there is no lock to hold")

    async def held_elsewhere(runtime: Runtime) -> None:
        other = create_async_engine(settings.resolved_database_url)
        async with other.begin() as conn:
            assert await claim_evaluation(conn)
            await evaluate_findings(runtime)  # skipped: the other "replica" holds the lock
        await other.dispose()

    clock.advance(31 * DAY)
    run(http, held_elsewhere)
    headers = bearer(token(http, admin))
    assert "secret-rotation-due" not in findings_of(http, headers, admin.id)
    run(http, evaluate_findings)  # the lock is free again
    assert "secret-rotation-due" in findings_of(http, headers, admin.id)
