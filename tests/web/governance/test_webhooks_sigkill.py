"""Webhooks survive a SIGKILL (issue 13 §3): ``keystead serve`` as a real process is killed with
-9 while a receiver holds one of its deliveries; restarted, it delivers every queued event,
in order per client, and only the one that was in flight a second time (at least once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.support.cli import KEYSTEAD_COMMAND
from tests.support.clients import client_body, create_client, update_client
from tests.support.servers import reserved_port
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.web.governance.support import rows

WEBHOOKS = "/api/v2/governance/webhooks"
PER_CLIENT = ["client.created", "client.updated", "client.updated"]
LEASE_SECONDS = 5  # what a killed sender holds up (the least the setting takes)
OUTBOX_INTERVAL_SECONDS = 1  # how often each server looks at the outbox (the least allowed)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(reserved_port()) as receiver:
        yield receiver


def _serve(settings: Settings, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {"KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
            "KEYSTEAD_DATA_DIR": str(tmp_path), "KEYSTEAD_ISSUER": url,
            "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value(),
            "KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE": "true",
            "KEYSTEAD_WEBHOOKS_TIMEOUT_SECONDS": "2",
            "KEYSTEAD_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            "KEYSTEAD_OUTBOX_INTERVAL_SECONDS": str(OUTBOX_INTERVAL_SECONDS)}
    server = subprocess.Popen([KEYSTEAD_COMMAND, "serve", "--port", str(port), "--workers", "1",
                               "--log-level", "warning"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "keystead serve exited"
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise AssertionError("keystead serve did not become ready")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # raw SQL: text on SQLite


def _wait(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_webhooks_every_event_arrives_in_order_across_a_sigkill(
        http: TestClient, headers: dict[str, str], super_admin: str, settings: Settings,
        tmp_path: Path, receiver: Receiver) -> None:
    created = http.post(WEBHOOKS, headers=headers, json={
        "url": receiver.url, "eventTypes": ["client.created", "client.updated"]})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    clients = []
    for name in ("alpha", "beta", "gamma"):
        client = create_client(http, headers, client_body(super_admin, name=name))
        for text in ("one", "two"):
            assert update_client(http, headers, client.id, description=text).status_code == 200
        clients.append(client.id)
    queued = {_json(r["payload"])["eventId"] for r in rows(
        http, "SELECT payload FROM outbox WHERE channel = 'webhook'")}
    assert len(queued) == 3 * len(PER_CLIENT)

    receiver.hold = 4  # the fourth delivery is held unanswered...
    server = _serve(settings, tmp_path, reserved_port())
    try:
        _wait(lambda: len(receiver.accepted) >= receiver.hold, 60)
        in_flight = receiver.accepted[receiver.hold - 1].webhook_id
        server.send_signal(signal.SIGKILL)  # ...and its sender killed while it waits
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
        receiver.release.set()
    assert len({r.webhook_id for r in receiver.accepted}) < len(queued)

    server = _serve(settings, tmp_path, reserved_port())
    try:
        _wait(lambda: {r.webhook_id for r in receiver.accepted} >= queued, 120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ids = [r.webhook_id for r in receiver.accepted]
    assert set(ids) == queued  # nothing lost, nothing else
    assert receiver.bad_signatures == 0
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [in_flight]  # only what was in flight came twice
    assert {i: ids.count(i) for i in duplicates} == {in_flight: 2}
    for client_id in clients:
        types = [k for k, _ in groupby(
            (r.webhook_id, r.body["type"]) for r in receiver.accepted
            if r.body["data"]["clientId"] == client_id)]
        assert [t for _, t in types] == PER_CLIENT
