"""The audit log and the dashboard in a real browser, after some activity: what an admin reads,
what the exports hold (the client's events, never its secret)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.browser.console import Admin, exported_events

DASHBOARD_SECTIONS = ("#clients-by-state", "#stale-secrets", "#unused-clients", "#failed-auth",
                      "#recent-changes")


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
