"""Notices reach people (issue 12 §7): queued in the transaction of the change that causes them,
e-mailed from the outbox to a real SMTP server at least once (retried while it is down, taken
over from a sender that died), and read in the caller's inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.outbox import LEASE, retry_delay
from keystead.domain.principal import operator
from keystead.store.outbox import outbox_transactions
from keystead.web.app import background_loops, purge
from keystead.web.metrics import Metrics
from keystead.web.runtime import Runtime
from tests.oauth_flows import code_client, user_tokens
from tests.people import Person, create_user, sign_in
from tests.support.apps import run, runtime_of, serve
from tests.support.clients import Registered, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.smtp import smtp_server
from tests.support.tokens import bearer
from tests.web.governance.support import (
    CLIENTS,
    NOTICES,
    rows,
    send,
    set_owner,
    set_policy,
)


class BoomError(Exception):
    pass


@pytest.fixture
def owner(http: TestClient) -> Person:
    return create_user(http, "owner@example.com", name="Olive Owner")


@pytest.fixture
def target(http: TestClient, headers: dict[str, str], super_admin: str, owner: Person
           ) -> Registered:
    """A client owned by ``owner``, with the deletion-approval policy on."""
    set_policy(http, deletion_approval=True)
    client = create_client(http, headers, client_body(super_admin, name="billing service"))
    set_owner(http, client.id, owner.id)
    return client


def _request_deletion(http: TestClient, headers: dict[str, str], client_id: str) -> None:
    response = http.delete(f"{CLIENTS}/{client_id}", headers=headers)
    assert response.status_code == 202, response.text


def test_notice_rolls_back_with_the_change_that_failed(
        http: TestClient, target: Registered) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.client_deletion(conn).delete(operator(), target.id)
            raise BoomError  # the change fails after the notice was queued

    with pytest.raises(BoomError):
        run(http, work)
    assert rows(http, "SELECT id FROM notices") == []
    assert rows(http, "SELECT id FROM outbox") == []
    assert rows(http, "SELECT id FROM deletion_requests") == []


def test_notice_is_emailed_to_the_owner_without_secrets(
        http: TestClient, headers: dict[str, str], target: Registered, smtp_port: int) -> None:
    _request_deletion(http, headers, target.id)
    with smtp_server(smtp_port) as mailbox:
        send(http)
    [mail] = mailbox.to("owner@example.com")
    assert mail["Subject"] == "Deletion of OAuth client 'billing service' requested"
    assert mail["From"] == "keystead@example.com"
    raw = mail.get_payload(decode=True)
    assert isinstance(raw, bytes)
    text = raw.decode()
    assert "Olive Owner" in text
    assert target.id in text
    assert target.secret not in mail.as_string()
    assert headers["Authorization"].split()[1] not in mail.as_string()
    assert rows(http, "SELECT id FROM outbox WHERE sent_at IS NULL") == []
    send(http)  # sent once: a second round has nothing to do
    assert len(mailbox.to("owner@example.com")) == 1


def test_notice_email_is_retried_after_the_smtp_server_was_down(
        http: TestClient, headers: dict[str, str], target: Registered, smtp_port: int,
        clock: ManualClock) -> None:
    _request_deletion(http, headers, target.id)
    send(http)  # nothing listens on the port yet
    [row] = rows(http, "SELECT * FROM outbox")
    assert (row["attempts"], row["sent_at"], row["lease_owner"]) == (1, None, None)
    assert "Connection" in row["last_error"] or "refused" in row["last_error"].lower()
    with smtp_server(smtp_port) as mailbox:
        send(http)  # not due yet: back-off
        assert mailbox.messages == []
        clock.advance(retry_delay(1).total_seconds())
        send(http)
    assert len(mailbox.to("owner@example.com")) == 1
    [row] = rows(http, "SELECT * FROM outbox")
    assert row["attempts"] == 2
    assert row["sent_at"] is not None


def test_notice_email_claimed_by_a_sender_that_died_is_sent_by_another(
        http: TestClient, headers: dict[str, str], target: Registered, smtp_port: int,
        clock: ManualClock) -> None:
    _request_deletion(http, headers, target.id)

    async def claim_and_die(runtime: Runtime) -> int:
        async with outbox_transactions(runtime.engine)() as ledger:
            now = runtime.clock()
            return len(await ledger.claim(owner="dead-sender", channels=["email"], now=now,
                                          lease_until=now + LEASE, limit=10))

    assert run(http, claim_and_die) == 1
    with smtp_server(smtp_port) as mailbox:
        send(http)  # the dead sender's lease still holds
        assert mailbox.messages == []
        clock.advance(LEASE.total_seconds())
        send(http)
    assert len(mailbox.to("owner@example.com")) == 1


def test_notice_inbox_api_lists_and_marks_the_callers_own(
        http: TestClient, headers: dict[str, str], target: Registered, owner: Person) -> None:
    _request_deletion(http, headers, target.id)
    app = code_client(http, scopes=("governance", "governance:readonly"))
    sign_in(http, owner)
    user_headers = bearer(user_tokens(http, app, scope="governance")["access_token"])
    listed = http.get(NOTICES, headers=user_headers)
    assert listed.status_code == 200, listed.text
    [notice] = listed.json()["entities"]
    assert (notice["kind"], notice["clientId"], notice["read"]) == (
        "deletion.requested", target.id, False)
    # A client's token has no inbox, and sees no one else's notices.
    assert http.get(NOTICES, headers=headers).json()["total"] == 0
    assert http.post(f"{NOTICES}/{notice['id']}/read", headers=headers).status_code == 404
    read = http.post(f"{NOTICES}/{notice['id']}/read", headers=user_headers)
    assert read.status_code == 200
    assert read.json()["read"] is True
    unread = http.get(NOTICES, params={"unread": "true"}, headers=user_headers)
    assert unread.json()["total"] == 0


def test_notice_housekeeping_purges_sent_mail_and_keeps_unread_notices(
        http: TestClient, headers: dict[str, str], target: Registered, smtp_port: int,
        clock: ManualClock) -> None:
    _request_deletion(http, headers, target.id)
    with smtp_server(smtp_port):
        send(http)
    clock.advance(timedelta(days=91).total_seconds())
    run(http, purge)
    assert rows(http, "SELECT id FROM outbox") == []
    # Unread: kept however old.
    assert len(rows(http, "SELECT id FROM notices")) == 1


def test_outbox_loop_runs_at_the_configured_interval_and_refuses_under_a_second(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """KEYSTEAD_OUTBOX_INTERVAL_SECONDS sets how often each replica sends; under 1 s is refused
    (readiness calls a loop dead after twice its interval without an attempt)."""
    with serve(settings.model_copy(update={"outbox_interval_seconds": 2.0})) as other:
        loops = background_loops(runtime_of(other), Metrics(), housekeeping=True)
    assert [loop.interval for loop in loops if loop.name == "outbox"] == [2.0]

    monkeypatch.setenv("KEYSTEAD_OUTBOX_INTERVAL_SECONDS", "0.5")
    with pytest.raises(ValidationError, match="outbox_interval_seconds"):
        Settings(data_dir=settings.data_dir, database_url=settings.database_url,
                 secret_key=settings.secret_key)
