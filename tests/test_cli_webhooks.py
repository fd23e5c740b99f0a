"""`keystead webhooks …` (issue 13 §3), run as the installed command on both stores."""

from __future__ import annotations

import json

from tests import test_cli
from tests.test_cli import Deployment
from tests.web.governance.support import rows

deployment = test_cli.deployment
sqlite_initialised = test_cli.sqlite_initialised
postgres_initialised = test_cli.postgres_initialised

# A public address written as one: creating the endpoint resolves nothing and sends nothing.
URL = "https://93.184.215.14/keystead"


def test_cli_webhooks_create_shows_the_secret_once_and_lists_without_it(
        deployment: Deployment) -> None:
    created = json.loads(deployment.ok("webhooks", "create", "--url", URL, "--event",
                                       "client.created", "--event", "finding.opened"))
    assert created["secret"].startswith("whsec_")
    assert created["eventTypes"] == ["client.created", "finding.opened"]
    listed = deployment.ok("webhooks", "list")
    assert [e["id"] for e in json.loads(listed)] == [created["id"]]
    assert created["secret"] not in listed
    assert json.loads(deployment.ok("webhooks", "deliveries", created["id"])) == []
    assert deployment.ok("webhooks", "delete", created["id"]).strip() == (
        f"deleted {created['id']}")
    assert json.loads(deployment.ok("webhooks", "list")) == []
    with deployment.serving() as http:
        entries = rows(http, "SELECT * FROM audit_events WHERE entity_type = 'WebhookEndpoint'")
        assert sorted(e["action"] for e in entries) == ["create", "delete"]
        assert created["secret"] not in str(rows(http, "SELECT * FROM audit_events"))


def test_cli_webhooks_refuses_a_loopback_url_naming_the_setting(deployment: Deployment) -> None:
    result = deployment.run("webhooks", "create", "--url", "http://127.0.0.1:8080/",
                            "--event", "client.created")
    assert result.returncode != 0
    assert "KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_webhooks_event_types_lists_the_declared_table(deployment: Deployment) -> None:
    listed = json.loads(deployment.ok("webhooks", "event-types"))
    assert {"client.secret.regenerated", "webhook.endpoint.disabled"} <= {
        e["id"] for e in listed}
