"""The console dashboard: client counts by state, secrets past rotation age, unused clients,
failed authentications and recent changes — each section only for those allowed to see it."""

from __future__ import annotations

import re
from datetime import timedelta

from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Console, create_user, sign_in
from tests.support.apps import serve
from tests.support.clients import (
    CLIENTS,
    Registered,
    bootstrap,
    client_body,
    create_client,
    set_state,
)
from tests.support.clock import ManualClock
from tests.support.tokens import token

WRONG_SECRET = "not-the-secret-" + "Q" * 30


def section(html: str, section_id: str) -> str:
    """The inner HTML of ``<section id=section_id>`` (sections do not nest on these pages)."""
    found = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', html, re.DOTALL)
    assert found, f"no section #{section_id}"
    return found.group(1)


def counts(console: Console) -> dict[str, int]:
    cards = section(console.http.get("/admin").text, "clients-by-state")
    return {state: int(figure) for state, figure in re.findall(
        r'data-state="(\w+)" href="/admin/integrations/oauth\?state=\1">\s*'
        r'<div class="figure">(\d+)</div>', cards)}


def test_dashboard_counts_change_when_a_client_is_disabled(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    client = create_client(http, headers, client_body(super_admin, name="payroll"))
    before = counts(console)
    assert set(before) == {"active", "disabled", "inactive"}

    set_state(http, headers, client.id, "disabled")

    after = counts(console)
    assert after["active"] == before["active"] - 1
    assert after["disabled"] == before["disabled"] + 1
    assert after["inactive"] == before["inactive"]


def test_dashboard_lists_clients_whose_secret_is_past_rotation_age(
        console: Console, settings: Settings, http: TestClient, headers: dict[str, str],
        clock: ManualClock) -> None:
    with serve(settings, clock=ManualClock(clock() - timedelta(days=40))) as past:
        old = bootstrap(past, name="forgotten batch job", roles=["OAuth Admin"])
    fresh = bootstrap(http, name="brand new service", roles=["OAuth Admin"])

    stale = section(console.http.get("/admin").text, "stale-secrets")
    assert f'<a href="/admin/integrations/oauth/{old.id}">forgotten batch job</a>' in stale
    assert re.search(r"<td>40 days</td>", stale)
    assert fresh.id not in stale

    response = http.post(f"{CLIENTS}/{old.id}/secret", json={"dualUseSeconds": 0},
                         headers=headers)
    assert response.status_code == 200, response.text
    rotated = section(console.http.get("/admin").text, "stale-secrets")
    assert old.id not in rotated
    assert "No secret is past its rotation age" in rotated


def test_dashboard_lists_active_clients_unused_for_ninety_days(
        console: Console, settings: Settings, http: TestClient, headers: dict[str, str],
        clock: ManualClock) -> None:
    with serve(settings, clock=ManualClock(clock() - timedelta(days=100))) as past:
        never_used = bootstrap(past, name="never used", roles=["OAuth Admin"])
        used_long_ago = bootstrap(past, name="used long ago", roles=["OAuth Admin"])
        token(past, used_long_ago)
        used_today = bootstrap(past, name="used today", roles=["OAuth Admin"])
        disabled = bootstrap(past, name="switched off", roles=["OAuth Admin"])
    token(http, used_today)
    set_state(http, headers, disabled.id, "disabled")

    unused = section(console.http.get("/admin").text, "unused-clients")
    rows = dict(re.findall(r'<tr data-client-id="([^"]+)">(.*?)</tr>', unused, re.DOTALL))
    assert set(rows) >= {never_used.id, used_long_ago.id}
    assert "never" in rows[never_used.id]
    assert "(100 days ago)" in rows[used_long_ago.id]
    assert used_today.id not in rows
    assert disabled.id not in rows  # only active clients: a disabled one is already handled


def test_dashboard_shows_a_failed_client_authentication_but_never_its_secret(
        console: Console, http: TestClient, admin: Registered) -> None:
    refused = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(admin.id, WRONG_SECRET))
    assert refused.status_code == 401

    page = console.http.get("/admin").text
    failures = section(page, "failed-auth")
    row = re.search(r"<tr data-seq=\"\d+\">(.*?)</tr>", failures, re.DOTALL)
    assert row, failures
    assert "test admin" in row.group(1)
    assert admin.id in row.group(1)
    assert "testclient" in row.group(1)  # the remote address the TestClient reports
    assert "wrong or expired secret" in row.group(1)
    assert WRONG_SECRET not in page
    assert admin.secret not in page


def test_dashboard_shows_a_failed_sign_in_with_its_reason_only(console: Console) -> None:
    console.post("/login", {"email": "mallory@example.com", "password": "guessing-hard-123"})

    page = console.http.get("/admin").text
    failures = section(page, "failed-auth")
    assert "mallory@example.com" in failures
    assert "unknown e-mail" in failures
    assert "guessing-hard-123" not in page


def test_dashboard_shows_recent_changes_linked_to_the_audit_log(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    client = create_client(http, headers, client_body(super_admin, name="ledger sync"))

    changes = section(console.http.get("/admin").text, "recent-changes")
    newest = re.search(r"<tr data-seq=\"\d+\">(.*?)</tr>", changes, re.DOTALL)
    assert newest
    assert "<code>create</code>" in newest.group(1)
    assert "ledger sync" in newest.group(1)
    assert "test admin" in newest.group(1)
    assert f"/admin/audit?client={client.id}" in newest.group(1)
    assert 'href="/admin/audit"' in changes
    assert client.secret not in changes


def test_dashboard_hides_audit_sections_from_users_without_audit_permission(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client viewers", "permissions": ["oauth:client:view"]})
    assert response.status_code == 200, response.text
    sign_in(http, create_user(http, "viewer@example.com", roles=("Client viewers",)))

    page = http.get("/admin")

    assert page.status_code == 200
    assert '<section id="clients-by-state"' in page.text
    assert '<section id="stale-secrets"' in page.text
    assert 'id="failed-auth"' not in page.text
    assert 'id="recent-changes"' not in page.text
