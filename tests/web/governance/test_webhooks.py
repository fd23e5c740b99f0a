"""Webhooks (issue 13 §3): endpoints get every subscribed event signed per Standard Webhooks
(verified by a real receiver with the library), in order per client, retried while the
receiver fails, logged per attempt, redelivered on demand, disabled after persistent failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.outbox import retry_delay
from tests.people import create_user
from tests.support.apps import serve
from tests.support.clients import Registered, bootstrap, client_body, create_client, update_client
from tests.support.clock import ManualClock
from tests.support.servers import reserved_port
from tests.support.tokens import bearer, token
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.web.governance.support import CLIENTS, rows, send

WEBHOOKS = "/api/v2/governance/webhooks"
LIFECYCLE = ["client.created", "client.updated", "client.secret.regenerated", "client.deleted"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on loopback: allow private addresses (the default refuses them)."""
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(reserved_port()) as receiver:
        yield receiver


def _subscribe(http: TestClient, headers: dict[str, str], receiver: Receiver,
               event_types: list[str] | None = None) -> str:
    created = http.post(WEBHOOKS, headers=headers, json={
        "url": receiver.url, "eventTypes": event_types or LIFECYCLE})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    return str(created.json()["id"])


def _lifecycle(http: TestClient, headers: dict[str, str], super_admin: str,
               name: str) -> Registered:
    client = create_client(http, headers, client_body(super_admin, name=name))
    assert update_client(http, headers, client.id, description="changed").status_code == 200
    regenerated = http.post(f"{CLIENTS}/{client.id}/secret", headers=headers, json={})
    assert regenerated.status_code == 200, regenerated.text
    return Registered(client.id, regenerated.json()["secret"])


def _drain(http: TestClient, rounds: int = 10) -> None:
    for _ in range(rounds):
        send(http)


def test_webhook_create_shows_the_secret_once(http: TestClient, headers: dict[str, str],
                                              receiver: Receiver) -> None:
    endpoint_id = _subscribe(http, headers, receiver)
    assert receiver.secret.startswith("whsec_")
    listed = http.get(WEBHOOKS, headers=headers).json()
    assert [e["id"] for e in listed["entities"]] == [endpoint_id]
    assert receiver.secret not in str(listed)
    assert receiver.secret not in http.get(f"{WEBHOOKS}/{endpoint_id}", headers=headers).text
    [entry] = rows(http, "SELECT * FROM audit_events WHERE entity_type = 'WebhookEndpoint'")
    assert receiver.secret not in str(dict(entry))
    [stored] = rows(http, "SELECT secret_sealed FROM webhook_endpoints")
    assert receiver.secret.removeprefix("whsec_") not in stored["secret_sealed"]


def test_webhook_url_key_stays_out_of_the_audit_log_but_is_used_to_deliver(
        http: TestClient, headers: dict[str, str], super_admin: str, receiver: Receiver) -> None:
    key = "receiver-key-" + "k" * 20  # what a receiver may take in the query (?code=...)
    created = http.post(WEBHOOKS, headers=headers, json={
        "url": f"{receiver.url}?code={key}", "eventTypes": ["client.created"]})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    [entry] = rows(http, "SELECT * FROM audit_events WHERE entity_type = 'WebhookEndpoint'")
    assert key not in str(dict(entry))
    assert entry["entity_name"] == f"{receiver.url}?…"
    client = create_client(http, headers, client_body(super_admin, name="keyed"))
    _drain(http)
    assert receiver.types_for(client.id) == ["client.created"]  # sent to the whole URL
    assert key not in str(rows(http, "SELECT * FROM audit_events"))


def test_webhook_events_arrive_signed_in_order_without_secrets(
        http: TestClient, headers: dict[str, str], super_admin: str, receiver: Receiver) -> None:
    _subscribe(http, headers, receiver)
    client = _lifecycle(http, headers, super_admin, "billing")
    assert http.delete(f"{CLIENTS}/{client.id}", headers=headers).status_code == 204
    _drain(http)
    assert receiver.bad_signatures == 0
    assert receiver.types_for(client.id) == LIFECYCLE
    regenerated = next(r for r in receiver.accepted
                       if r.body["type"] == "client.secret.regenerated")
    assert client.secret.encode() not in regenerated.raw
    assert regenerated.body["data"]["clientId"] == client.id
    assert len({r.webhook_id for r in receiver.accepted}) == len(LIFECYCLE)


def test_webhook_receiver_that_fails_then_recovers_gets_every_event_in_order(
        http: TestClient, headers: dict[str, str], super_admin: str, receiver: Receiver,
        clock: ManualClock) -> None:
    endpoint_id = _subscribe(http, headers, receiver)
    receiver.failing = True
    first = _lifecycle(http, headers, super_admin, "first")
    second = _lifecycle(http, headers, super_admin, "second")
    _drain(http, rounds=3)
    # One attempt per client, at the head of each client's queue: the later events wait.
    assert receiver.refused == 2
    clock.advance(retry_delay(1).total_seconds())
    _drain(http, rounds=1)
    assert receiver.refused == 4
    receiver.failing = False
    _drain(http)  # backing off: nothing is due yet
    assert receiver.accepted == []
    clock.advance(retry_delay(2).total_seconds())
    _drain(http)
    expected = LIFECYCLE[:3]
    assert (receiver.types_for(first.id), receiver.types_for(second.id)) == (expected, expected)
    assert len(receiver.accepted) == 6  # each exactly once once accepted
    log = http.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", headers=headers,
                   params={"pageSize": 100}).json()["entities"]
    assert sorted((d["status"], d["attempt"]) for d in log if d["eventType"] ==
                  "client.created") == [("delivered", 3), ("delivered", 3), ("failed", 1),
                                        ("failed", 1), ("failed", 2), ("failed", 2)]
    assert all(d["latencyMs"] is not None for d in log)
    assert rows(http, "SELECT id FROM outbox WHERE sent_at IS NULL") == []


def test_webhook_redeliver_sends_the_same_event_again(
        http: TestClient, headers: dict[str, str], super_admin: str, receiver: Receiver) -> None:
    endpoint_id = _subscribe(http, headers, receiver, ["client.created"])
    create_client(http, headers, client_body(super_admin, name="again"))
    _drain(http)
    [delivery] = http.get(f"{WEBHOOKS}/{endpoint_id}/deliveries",
                          headers=headers).json()["entities"]
    redone = http.post(f"{WEBHOOKS}/{endpoint_id}/deliveries/{delivery['id']}/redeliver",
                       headers=headers)
    assert redone.status_code == 202, redone.text
    _drain(http)
    first, again = receiver.accepted
    assert (again.webhook_id, again.raw) == (first.webhook_id, first.raw)
    log = http.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", headers=headers).json()["entities"]
    assert [d["attempt"] for d in log] == [2, 1]


def _enabled(http: TestClient) -> bool:
    [row] = rows(http, "SELECT enabled FROM webhook_endpoints")
    return bool(row["enabled"])


def test_webhook_endpoint_failing_for_a_day_is_disabled_with_a_notice(
        http: TestClient, headers: dict[str, str], super_admin: str, receiver: Receiver,
        clock: ManualClock, admin: Registered) -> None:
    admin_user = create_user(http, "hooks@example.com", roles=("Super Admin",))
    endpoint_id = _subscribe(http, headers, receiver, ["client.created"])
    receiver.failing = True
    create_client(http, headers, client_body(super_admin, name="doomed"))
    attempts = 0
    while _enabled(http):
        send(http)
        attempts += 1
        clock.advance(3_600)
        assert attempts < 40
    headers = bearer(token(http, admin))  # the first one expired meanwhile
    endpoint = http.get(f"{WEBHOOKS}/{endpoint_id}", headers=headers).json()
    assert endpoint["consecutiveFailures"] == 0  # the streak ended with the disabling
    assert "failed deliveries in a row" in endpoint["disabledReason"]
    assert attempts >= 10
    [notice] = rows(http, "SELECT * FROM notices WHERE kind = 'webhook.endpoint.disabled'")
    assert (notice["recipient_id"], endpoint_id in notice["body"]) == (admin_user.id, True)
    [entry] = rows(http, "SELECT * FROM audit_events WHERE action = 'disable'")
    assert (entry["actor_kind"], entry["entity_id"]) == ("system", endpoint_id)
    # Disabled: later events are logged as skipped, not sent, until an admin enables it and
    # recovers what it missed.
    receiver.failing = False
    create_client(http, headers, client_body(super_admin, name="later"))
    clock.advance(3_600)
    _drain(http)
    assert receiver.accepted == []
    headers = bearer(token(http, admin))
    refused = http.post(f"{WEBHOOKS}/{endpoint_id}/recover", headers=headers)
    assert refused.status_code == 400  # enable it first
    enabled = http.post(f"{WEBHOOKS}/{endpoint_id}/enable", headers=headers)
    assert enabled.json()["enabled"] is True
    recovered = http.post(f"{WEBHOOKS}/{endpoint_id}/recover", headers=headers)
    assert recovered.json() == {"queued": 2}
    _drain(http)
    # Two clients: each client's order is kept, not one across clients.
    assert sorted(r.body["data"]["clientName"] for r in receiver.accepted) == ["doomed", "later"]
    assert receiver.bad_signatures == 0


def test_webhook_create_rejects_bad_input(http: TestClient, headers: dict[str, str]) -> None:
    for body, field in [
        ({"url": "ftp://example.com/x", "eventTypes": ["client.created"]}, "url"),
        ({"url": "https://example.com/x", "eventTypes": ["nope"]}, "eventTypes"),
        ({"url": "https://example.com/x", "eventTypes": []}, "eventTypes"),
    ]:
        response = http.post(WEBHOOKS, headers=headers, json=body)
        assert response.status_code == 400, response.text
        assert field in response.text
    assert rows(http, "SELECT id FROM webhook_endpoints") == []


def test_webhook_refuses_loopback_and_private_addresses_by_default(
        settings: Settings, headers: dict[str, str]) -> None:
    strict = settings.model_copy(update={"webhooks_allow_private": False})
    with serve(strict) as other:
        for url in ["http://127.0.0.1:9/hooks", "http://10.0.0.8/hooks",
                    "http://[::1]/hooks", "http://169.254.169.254/latest",
                    "http://localhost/hooks"]:
            response = other.post(WEBHOOKS, headers=headers, json={
                "url": url, "eventTypes": ["client.created"]})
            assert response.status_code == 400, (url, response.text)
            assert "KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE" in response.text


def test_webhook_management_needs_its_permissions(http: TestClient) -> None:
    # OAuth Admin acts on clients, findings and reviews, but holds no governance:webhook:*.
    outsider = bootstrap(http, name="outsider", roles=["OAuth Admin"], scopes=["governance"])
    outsider_headers = bearer(token(http, outsider, scope="governance"))
    assert http.get(WEBHOOKS, headers=outsider_headers).status_code == 403
    assert http.post(WEBHOOKS, headers=outsider_headers, json={
        "url": "https://example.com/", "eventTypes": ["client.created"]}).status_code == 403
    assert rows(http, "SELECT id FROM webhook_endpoints") == []
