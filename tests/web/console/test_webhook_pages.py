"""The console's webhook pages: add an endpoint (its secret shown once), read its delivery log,
redeliver, and the rules' refusals beside their fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keystead.config import Settings
from tests.people import Console
from tests.support.clients import bootstrap
from tests.support.servers import reserved_port
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.web.governance.support import rows, send

PAGE = "/admin/governance/webhooks"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(reserved_port()) as receiver:
        yield receiver


def test_console_adds_an_endpoint_and_shows_its_secret_once(console: Console,
                                                           receiver: Receiver) -> None:
    added = console.post(PAGE, {"url": receiver.url, "description": "SIEM",
                                "eventTypes": ["client.created"]})
    assert added.status_code == 200, added.text
    assert 'id="secret-value"' in added.text
    [row] = rows(console.http, "SELECT id FROM webhook_endpoints")
    assert added.url.path == f"{PAGE}/{row['id']}"
    secret = added.text.split('id="secret-value">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    again = console.http.get(f"{PAGE}/{row['id']}")
    assert secret not in again.text  # a reload finds nothing
    assert secret not in console.http.get(PAGE).text


def test_console_webhook_log_and_redeliver(console: Console, receiver: Receiver) -> None:
    added = console.post(PAGE, {"url": receiver.url, "eventTypes": ["client.created"]})
    receiver.secret = added.text.split('id="secret-value">', 1)[1].split("<", 1)[0]
    endpoint_id = added.url.path.rsplit("/", 1)[1]
    bootstrap(console.http, name="new client", roles=["OAuth Admin"])  # client.created
    send(console.http)
    assert [r.body["type"] for r in receiver.accepted] == ["client.created"]
    page = console.http.get(f"{PAGE}/{endpoint_id}")
    [delivery] = rows(console.http, "SELECT id FROM webhook_deliveries")
    assert f'id="delivery-{delivery["id"]}"' in page.text
    assert "delivered" in page.text
    redone = console.post(f"{PAGE}/{endpoint_id}/redeliver", {"deliveryId": delivery["id"]})
    assert redone.status_code == 200
    send(console.http)
    assert len(receiver.accepted) == 2
    assert receiver.accepted[0].webhook_id == receiver.accepted[1].webhook_id


def test_console_webhook_form_names_the_bad_fields(console: Console) -> None:
    refused = console.post(PAGE, {"url": "ftp://example.com/"})
    assert refused.status_code == 400
    assert 'id="url-error"' in refused.text
    assert 'id="eventTypes-error"' in refused.text
    assert 'value="ftp://example.com/"' in refused.text
    assert rows(console.http, "SELECT id FROM webhook_endpoints") == []
