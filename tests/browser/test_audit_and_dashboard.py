"""The audit log and the dashboard in a real browser, after some activity: what an admin reads,
what the exports hold (the client's events, never its secret), the dashboard's trend, names
instead of ids, readable changes, action names that never break mid-word on a phone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import ViewportSize

from keystead.web.runtime import Runtime
from tests.browser.console import Admin, Server, exported_events
from tests.support.apps import run
from tests.support.clients import update_client

DASHBOARD_SECTIONS = ("#clients-by-state", "#stale-secrets", "#unused-clients", "#failed-auth",
                      "#recent-changes")


PHONE = ViewportSize(width=390, height=844)


def flush_evidence(server: Server) -> None:
    """Add what the set-up replica counted to the store, as its background flush would."""

    async def work(runtime: Runtime) -> None:
        await runtime.flush_evidence()

    run(server.http, work)


def _download(root: Admin, selector: str) -> str:
    with root.page.expect_download() as download:
        root.page.click(selector)
    return Path(download.value.path()).read_text(encoding="utf-8")


def test_audit_log_filters_and_exports_a_clients_events_without_its_secret(root: Admin) -> None:
    svc = root.create_service("audited service")
    root.goto("/admin/audit")
    everything = root.text("#audit")
    assert "audited service" in everything
    assert "browser-test admin" in everything  # another client's creation
    root.screenshot("audit-log.png")

    root.page.fill("#client", svc.id)
    root.submit("#apply-filters")
    rows = root.page.locator("#audit tbody tr").all_inner_texts()
    assert rows
    assert all("audited service" in row for row in rows), rows
    assert any("create" in row for row in rows), rows

    exported_csv = _download(root, "a#export-csv")
    records = list(csv.DictReader(io.StringIO(exported_csv)))
    assert records
    assert all(svc.id in record.values() for record in records), exported_csv[:2000]
    assert any("create" in record.values() for record in records), exported_csv[:2000]
    assert svc.secret not in exported_csv

    exported_json = _download(root, "a#export-json")
    events = exported_events(exported_json)
    assert events
    assert all(svc.id in str(event) for event in events), exported_json[:2000]
    assert any(event.get("action") == "create" for event in events), exported_json[:2000]
    assert svc.secret not in exported_json


def test_dashboard_shows_what_needs_attention(root: Admin) -> None:
    svc = root.create_service("reporting service")
    assert root.server.client_token(svc.id, svc.secret).status_code == 200
    assert root.server.client_token(svc.id, "wrong-secret").status_code == 401
    root.create_service("retired service")
    root.submit("#disable")

    root.goto("/admin")
    page = root.page
    assert root.text("h1") == "Dashboard"
    for section in DASHBOARD_SECTIONS:
        assert page.locator(section).is_visible(), section
    assert root.text("#clients-by-state [data-state=disabled] .figure") == "1"
    assert int(root.text("#clients-by-state [data-state=active] .figure")) >= 1
    assert page.locator("#failed-auth tbody tr").count() >= 1
    changes = root.text("#recent-changes")
    assert "reporting service" in changes
    assert "retired service" in changes
    root.screenshot("dashboard.png")


def test_dashboard_trend_and_names_read_without_ids(root: Admin) -> None:
    svc = root.create_service("trend service")
    server = root.server
    for _ in range(3):
        issued = server.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=(svc.id, svc.secret))
        assert issued.status_code == 200
    refused = server.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(svc.id, "wrong-secret"))
    assert refused.status_code == 401
    flush_evidence(server)

    root.goto("/admin")
    page = root.page
    assert page.locator("#usage-trend svg.chart").is_visible()
    legend = root.text("#usage-trend .chart-legend")
    assert "Tokens issued:" in legend
    assert "Failures: 1 in all" in legend
    today = server.clock().date().isoformat()
    page.click("#usage-trend .chart-data summary")
    cells = page.locator(f'#usage-trend-table tr:has(time[datetime="{today}"]) td')
    assert int(cells.nth(0).inner_text()) >= 3
    assert cells.nth(1).inner_text() == "1"

    named = page.locator(f'#recent-changes [title="{svc.id}"]').first
    assert named.inner_text() == "trend service"
    assert named.is_visible()
    root.screenshot("dashboard-trend.png")


def test_audit_log_shows_changes_and_keeps_action_names_whole_on_a_phone(root: Admin) -> None:
    svc = root.create_service("audited service")
    server = root.server
    renamed = update_client(server.http, server.headers(), svc.id, name="renamed service")
    assert renamed.status_code == 200, renamed.text
    root.goto(f"/admin/audit?action=update&client={svc.id}")
    details = root.page.locator("#audit tbody tr .audit-details").first
    assert details.locator("del").first.inner_text() == "audited service"
    assert details.locator("ins").first.inner_text() == "renamed service"
    assert "Name:" in details.inner_text()
    root.goto(f"/admin/audit?action=create&client={svc.id}")
    # The console user's divisions, by name: the id only on hover.
    assert root.text("#audit tbody tr .actor-divisions .subject-name") == "Home"

    root.page.set_viewport_size(PHONE)
    root.goto("/admin/audit")
    page = root.page
    assert page.locator("td.action-name").count() > 0
    broken: list[str] = page.evaluate("""() => Array.from(
        document.querySelectorAll('td.action-name code'))
        .filter(c => c.getClientRects().length > 1)
        .map(c => c.textContent)""")
    assert broken == []
    assert page.evaluate(  # the page itself does not scroll sideways
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(
        "() => { const t = document.querySelector('#audit'); "
        "return t.scrollWidth > t.clientWidth; }")  # the table scrolls inside itself
    root.screenshot("audit-log-phone.png")
