"""Scheduled secret rotation on the manual clock (never sleeping): a client with a schedule is
rotated and delivered when its date comes (not before), by the system, its previous secret
working for the schedule's dual-use window, the next date moved on; two replicas attending at
once rotate it once; a failed scheduled delivery changes nothing, is audited once and retried
later."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.secret_rotation import scheduler
from keystead.web import delivery_runs
from keystead.web.app import housekeeping, rotate_secrets
from keystead.web.metrics import Metrics
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

CC = {"grant_type": "client_credentials"}
DAY = 86_400


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "secrets").mkdir()
    return settings.model_copy(update={"secret_file_root": tmp_path / "secrets"})


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    return tmp_path / "secrets"


@pytest.fixture
def scheduled(http: TestClient, headers: dict[str, str], secrets_dir: Path) -> Registered:
    """A client rotated every 30 days into a file, its old secret kept 2 hours."""
    app = bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    put = http.put(f"{CLIENTS}/{app.id}/secret/destination", headers=headers, json={
        "kind": "file", "settings": {"directory": str(secrets_dir)},
        "rotation": {"everyDays": 30, "dualUseSeconds": 7_200}})
    assert put.status_code == 200, put.text
    return app


def gets_token(http: TestClient, client_id: str, secret: str) -> bool:
    return http.post("/oauth/token", data=CC, auth=(client_id, secret)).status_code == 200


def now_headers(http: TestClient) -> dict[str, str]:
    """A fresh admin token (the clock moves past the fixture's)."""
    return bearer(token(http, bootstrap(http, name="auditor", roles=["Super Admin"])))


def next_date(http: TestClient, client_id: str) -> datetime:
    headers = now_headers(http)
    shown = http.get(f"{CLIENTS}/{client_id}/secret/destination", headers=headers)
    assert shown.status_code == 200, shown.text
    return datetime.fromisoformat(shown.json()["nextRotationDate"])


def rotations(http: TestClient, client_id: str) -> list[Any]:
    return audit_events(http, now_headers(http), entity_id=client_id, action="secret.regenerate")


def test_secret_rotates_into_its_destination_when_due_and_not_before(
        http: TestClient, clock: ManualClock, scheduled: Registered,
        secrets_dir: Path) -> None:
    start = clock.now
    assert next_date(http, scheduled.id) == start + timedelta(days=30)
    shown = http.get(f"{CLIENTS}/{scheduled.id}", headers=now_headers(http)).json()
    assert datetime.fromisoformat(shown["nextSecretRotationDate"]) == start + timedelta(days=30)
    clock.advance(30 * DAY - 1)
    run(http, housekeeping)
    assert not (secrets_dir / scheduled.id).exists()

    clock.advance(1)
    run(http, housekeeping)

    delivered = (secrets_dir / scheduled.id).read_text()
    assert gets_token(http, scheduled.id, delivered)
    assert gets_token(http, scheduled.id, scheduled.secret)  # within its 2-hour window
    clock.advance(7_200 + 1)
    assert not gets_token(http, scheduled.id, scheduled.secret)
    assert gets_token(http, scheduled.id, delivered)
    assert next_date(http, scheduled.id) == start + timedelta(days=60)
    [rotation] = rotations(http, scheduled.id)
    assert rotation["level"] == "SYSTEM"
    assert rotation["context"]["actorName"] == "scheduled secret rotation"
    delivery = audit_events(http, now_headers(http), entity_id=scheduled.id,
                              action="secret.deliver")
    assert delivered not in json.dumps(delivery)
    run(http, housekeeping)  # nothing more is due
    assert len(rotations(http, scheduled.id)) == 1


def test_two_replicas_attending_at_once_rotate_once(
        http: TestClient, clocked: TestClient, clock: ManualClock,
        scheduled: Registered, secrets_dir: Path) -> None:
    clock.advance(30 * DAY)
    # Both replicas have seen the rotation due before either claims it.
    [(client_id, seen_first)] = run(http, due)
    [(_, seen_second)] = run(clocked, due)
    assert seen_first == seen_second

    with ThreadPoolExecutor(2) as pool:
        won = list(pool.map(lambda pair: run(pair[0], rotating(client_id, pair[1])),
                            [(http, seen_first), (clocked, seen_second)]))

    assert sorted(won) == [False, True]
    assert len(rotations(http, scheduled.id)) == 1
    assert gets_token(http, scheduled.id, (secrets_dir / scheduled.id).read_text())
    with ThreadPoolExecutor(2) as pool:  # the whole loop, on both at once: nothing left due
        assert list(pool.map(lambda app: run(app, delivery_runs.rotate_due),
                             [http, clocked])) == [(0, 0), (0, 0)]


def test_two_replicas_running_the_loop_at_once_rotate_once(
        http: TestClient, clocked: TestClient, clock: ManualClock,
        scheduled: Registered, secrets_dir: Path) -> None:
    clock.advance(30 * DAY)

    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda app: run(app, delivery_runs.rotate_due),
                               [http, clocked]))

    assert sorted(counts) == [(0, 0), (1, 0)]
    assert len(rotations(http, scheduled.id)) == 1
    assert gets_token(http, scheduled.id, (secrets_dir / scheduled.id).read_text())


def test_failed_scheduled_delivery_changes_nothing_and_is_retried_later(
        http: TestClient, clocked: TestClient, clock: ManualClock,
        scheduled: Registered, secrets_dir: Path) -> None:
    clock.advance(30 * DAY)
    secrets_dir.rmdir()

    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda app: run(app, delivery_runs.rotate_due),
                               [http, clocked]))

    assert sorted(counts) == [(0, 0), (0, 1)]  # one replica recorded the failure
    assert gets_token(http, scheduled.id, scheduled.secret)
    assert rotations(http, scheduled.id) == []
    [failure] = audit_events(http, now_headers(http), entity_id=scheduled.id,
                              action="secret.deliver")
    assert failure["status"] == "FAILURE"
    assert next_date(http, scheduled.id) == clock.now + timedelta(hours=1)
    secrets_dir.mkdir()
    clock.advance(3_600)
    metrics = Metrics()
    run(http, lambda runtime: rotate_secrets(runtime, metrics))
    assert metrics.registry.get_sample_value("keystead_scheduled_secret_rotations_total",
                                             {"result": "delivered"}) == 1
    assert len(rotations(http, scheduled.id)) == 1
    assert gets_token(http, scheduled.id, (secrets_dir / scheduled.id).read_text())


async def due(runtime: Runtime) -> list[tuple[str, datetime]]:
    async with runtime.transaction() as conn:
        return await runtime.secret_delivery(conn).due()


def rotating(client_id: str, seen: datetime) -> Any:
    async def work(runtime: Runtime) -> bool:
        async with runtime.transaction() as conn:
            staged = await runtime.secret_delivery(conn).stage_scheduled(client_id, seen)
        if staged is not None:
            await delivery_runs.complete(runtime, scheduler(), staged)
        return staged is not None
    return work


def test_a_rotation_under_way_is_not_overtaken(
        http: TestClient, clock: ManualClock, headers: dict[str, str], scheduled: Registered,
        secrets_dir: Path) -> None:
    async def stage(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.secret_delivery(conn).stage(scheduler(), scheduled.id,
                                                      dual_use_seconds=60)

    run(http, stage)  # staged, not yet delivered (as if another replica were delivering)

    overtaking = http.post(f"{CLIENTS}/{scheduled.id}/secret", headers=headers,
                           json={"deliver": True})

    assert overtaking.status_code == 409, overtaking.text
    assert "under way" in overtaking.json()["message"]
    assert gets_token(http, scheduled.id, scheduled.secret)
    clock.advance(30 * DAY)  # long after: the staging was left behind by a stopped process
    run(http, housekeeping)
    delivered = (secrets_dir / scheduled.id).read_text()
    assert gets_token(http, scheduled.id, delivered)
    assert len(rotations(http, scheduled.id)) == 1


def test_saving_the_same_schedule_keeps_its_date_and_a_new_one_restarts_it(
        http: TestClient, clock: ManualClock, scheduled: Registered, secrets_dir: Path) -> None:
    start = clock.now
    clock.advance(10 * DAY)

    def put(every_days: int) -> None:
        response = http.put(f"{CLIENTS}/{scheduled.id}/secret/destination",
                            headers=now_headers(http), json={
                                "kind": "file", "settings": {"directory": str(secrets_dir)},
                                "rotation": {"everyDays": every_days, "dualUseSeconds": 7_200}})
        assert response.status_code == 200, response.text

    put(30)
    assert next_date(http, scheduled.id) == start + timedelta(days=30)
    put(7)
    assert next_date(http, scheduled.id) == clock.now + timedelta(days=7)
