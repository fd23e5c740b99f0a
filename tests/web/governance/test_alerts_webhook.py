"""Issue 13's done-when, end to end: a burst of failed authentications raises an alert that
arrives at a webhook with a valid Standard Webhooks signature (and, as the alerts tests show,
in the owner's inbox), carrying neither the client's secret nor the wrong one tried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import create_user
from tests.support.alerts import CC, TOKEN, evaluate_alerts
from tests.support.clients import client_body, create_client
from tests.support.clock import ManualClock
from tests.support.servers import reserved_port
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.web.governance.support import send, set_owner

WEBHOOKS = "/api/v2/governance/webhooks"
WRONG = "not-the-secret-" + "q" * 30


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on loopback: allow private addresses (the default refuses them)."""
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(reserved_port()) as receiver:
        yield receiver


def test_a_failed_authentication_burst_arrives_at_a_webhook_signed(
        http: TestClient, headers: dict[str, str], super_admin: str,
        receiver: Receiver) -> None:
    created = http.post(WEBHOOKS, headers=headers, json={
        "url": receiver.url, "eventTypes": ["alert.raised"]})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    svc = create_client(http, headers, client_body(super_admin, name="payroll sync"))
    set_owner(http, svc.id, create_user(http, "owner@example.com").id)
    for _ in range(25):
        assert http.post(TOKEN, data=CC, auth=(svc.id, WRONG)).status_code in (401, 429)

    assert evaluate_alerts(http, headers)["raised"] >= 1
    for _ in range(5):
        send(http)

    assert receiver.bad_signatures == 0
    raised = [r for r in receiver.accepted if r.body["type"] == "alert.raised"]
    assert raised, [r.body["type"] for r in receiver.accepted]
    assert any(r.body["data"].get("clientId") == svc.id and "failed-auth-spike" in str(r.body)
               for r in raised), [r.body for r in raised]
    for delivery in raised:
        assert WRONG.encode() not in delivery.raw
        assert svc.secret.encode() not in delivery.raw
