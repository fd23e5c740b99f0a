"""The console dashboard: client counts by state, the last 30 days' tokens and failures, secrets
past rotation age, unused clients, failed authentications and recent changes — each section only
for those allowed to see it, the ones with nothing to show folded into one short panel."""

from __future__ import annotations

import re
from datetime import timedelta

from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.apps import run, serve
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


def flush_evidence(app: TestClient) -> None:
    """Add the app's counted evidence to the store now, as its background flush does."""

    async def work(runtime: Runtime) -> None:
        await runtime.flush_evidence()

    run(app, work)


def trend_rows(html: str) -> dict[str, tuple[int, int]]:
    """The trend's data table: (tokens, failures) by ISO day."""
    table = re.search(r'<table id="usage-trend-table">(.*?)</table>', html, re.DOTALL)
    assert table, "no trend table"
    return {day: (int(tokens), int(failures)) for day, tokens, failures in re.findall(
        r'<tr><th scope="row"><time datetime="([\d-]+)">[^<]*</time></th>'
        r"<td>([\d,]+)</td><td>([\d,]+)</td></tr>", table.group(1))}


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


def test_dashboard_trend_counts_tokens_and_failures_per_day_over_thirty_days(
        console: Console, settings: Settings, http: TestClient, clock: ManualClock,
        admin: Registered) -> None:
    three_days_ago = clock() - timedelta(days=3)
    with serve(settings, clock=ManualClock(three_days_ago)) as past:
        token(past, admin)
        token(past, admin)
        refused = past.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(admin.id, WRONG_SECRET))
        assert refused.status_code == 401
        flush_evidence(past)
    with serve(settings, clock=ManualClock(clock() - timedelta(days=30))) as too_old:
        token(too_old, admin)  # the 31st day back: outside the chart
        flush_evidence(too_old)
    token(http, admin)
    flush_evidence(http)

    page = console.http.get("/admin").text
    trend = section(page, "usage-trend-section")
    rows = trend_rows(trend)

    assert len(rows) == 30
    assert rows[three_days_ago.date().isoformat()] == (2, 1)
    assert (clock() - timedelta(days=30)).date().isoformat() not in rows
    today_tokens, today_failures = rows[clock().date().isoformat()]
    assert today_tokens >= 1  # this one, and the fixtures' own
    assert today_failures == 0
    assert f"Tokens issued: {2 + today_tokens} in all" in trend
    assert "Failures: 1 in all" in trend
    assert '<svg class="chart"' in trend  # drawn on the server: no script needed
    assert WRONG_SECRET not in page


def test_dashboard_folds_what_needs_no_attention_into_one_panel(
        settings: Settings, clock: ManualClock) -> None:
    # Everything recorded is more than 30 days old: no trend to draw, nothing to act on (the
    # secret is younger than the rotation age).
    settings = settings.model_copy(update={"secret_rotation_days": 60})
    with serve(settings, clock=ManualClock(clock() - timedelta(days=40))) as past:
        old = bootstrap(past, name="quiet service", roles=["OAuth Admin"])
        token(past, old)
        flush_evidence(past)
    with serve(settings, clock=clock) as app:
        sign_in(app, create_user(app, "calm@example.com", roles=("Super Admin",)))
        page = app.get("/admin").text

    trend = section(page, "usage-trend-section")
    assert "No token issued and no failure in the last 30 days." in trend
    assert "<svg" not in trend
    calm = re.search(r'<div id="all-clear" class="panel all-clear">(.*)</div>', page, re.DOTALL)
    assert calm
    assert "Nothing needs attention" in calm.group(1)
    for section_id in ("stale-secrets", "unused-clients", "failed-auth", "deprecated-grants"):
        assert f'<section id="{section_id}" class="clear-line"' in calm.group(1), section_id
    assert "No secret is past its rotation age" in section(page, "stale-secrets")
    assert "<table" not in calm.group(1)


def test_dashboard_keeps_a_section_with_something_to_do_as_its_own_panel(
        console: Console, http: TestClient, admin: Registered) -> None:
    refused = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(admin.id, WRONG_SECRET))
    assert refused.status_code == 401

    page = console.http.get("/admin").text

    assert '<section id="failed-auth" class="panel"' in page
    calm = page[page.index('<div id="all-clear"'):]
    assert "Checked, nothing to do" in calm
    assert 'id="failed-auth"' not in calm
    assert '<section id="deprecated-grants" class="clear-line"' in calm


def test_dashboard_shows_no_trend_without_client_view_permission(
        http: TestClient, headers: dict[str, str], admin: Registered) -> None:
    token(http, admin)
    flush_evidence(http)
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Auditors", "permissions": ["audits:audit:view"]})
    assert response.status_code == 200, response.text
    sign_in(http, create_user(http, "auditor@example.com", roles=("Auditors",)))

    page = http.get("/admin")

    assert page.status_code == 200
    assert 'id="usage-trend' not in page.text
    assert 'id="clients-by-state"' not in page.text
    assert '<section id="recent-changes"' in page.text


def test_dashboard_says_there_is_no_trend_when_evidence_recording_is_off(
        settings: Settings, clock: ManualClock) -> None:
    off = settings.model_copy(update={"evidence_recording": False})
    with serve(off, clock=clock) as app:
        used = bootstrap(app, name="busy service", roles=["OAuth Admin"])
        token(app, used)
        flush_evidence(app)
        sign_in(app, create_user(app, "off@example.com", roles=("Super Admin",)))
        trend = section(app.get("/admin").text, "usage-trend-section")

    assert "KEYSTEAD_EVIDENCE_RECORDING is off" in trend
    assert "<svg" not in trend
