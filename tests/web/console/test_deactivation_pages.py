"""Planning a client's deactivation from its console page: the plan is shown with its dates,
a bad date or a missing reason is shown beside its field, and the plan can be cancelled."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from tests.people import Console
from tests.support.clients import Registered, client_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id

PAGE = "/admin/integrations/oauth"


def retiring(http: TestClient, headers: dict[str, str]) -> Registered:
    return create_client(http, headers, client_body(role_id(http, headers, "Super Admin"),
                                                    name="old billing"))


def test_console_plans_and_cancels_a_deactivation(console: Console, headers: dict[str, str],
                                                  clock: ManualClock) -> None:
    client = retiring(console.http, headers)
    day = (clock.now + timedelta(days=40)).date()

    planned = console.post(f"{PAGE}/{client.id}/deactivation", {
        "deactivationDate": day.isoformat(), "deactivationReason": "moved to billing v2",
        "replacementClientId": ""})

    assert planned.status_code == 200
    assert "The deactivation is planned" in planned.text
    assert "moved to billing v2" in planned.text
    assert day.isoformat() in planned.text
    assert 'id="cancel-deactivation"' in planned.text
    assert audit_events(console.http, headers, entity_id=client.id,
                        action="deactivation.schedule")

    cancelled = console.post(f"{PAGE}/{client.id}/deactivation/cancel")

    assert "The planned deactivation was cancelled" in cancelled.text
    assert 'id="plan-deactivation"' in cancelled.text
    assert audit_events(console.http, headers, entity_id=client.id,
                        action="deactivation.cancel")


def test_console_shows_each_deactivation_problem_beside_its_field(
        console: Console, headers: dict[str, str], clock: ManualClock) -> None:
    client = retiring(console.http, headers)

    not_a_date = console.post(f"{PAGE}/{client.id}/deactivation", {
        "deactivationDate": "next week", "deactivationReason": "x"})
    past = console.post(f"{PAGE}/{client.id}/deactivation", {
        "deactivationDate": (clock.now - timedelta(days=1)).date().isoformat(),
        "deactivationReason": ""})

    assert not_a_date.status_code == 400
    assert 'id="deactivationDate-error"' in not_a_date.text
    assert past.status_code == 400
    assert 'id="deactivationDate-error"' in past.text
    assert 'id="deactivationReason-error"' in past.text
    assert 'value="next week"' in not_a_date.text  # what was typed is kept
    assert not audit_events(console.http, headers, entity_id=client.id,
                            action="deactivation.schedule")
