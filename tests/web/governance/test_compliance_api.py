"""GET /api/v2/governance/compliance (issue 13 §4): every control of HIPAA, PCI-DSS, SOC 2 and
GDPR judged live, red when a control fails (an edited audit entry, a secret nobody's rotation
made, an admin without MFA, an old secret), green again once fixed; JSON and CSV; the console
page and its downloads; `keystead governance compliance`."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import update
from starlette.testclient import TestClient

from keystead.store.tables import client_secrets
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.findings import DAY, make_role
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows

REPORT = "/api/v2/governance/compliance"
POLICY = "/api/v2/governance/policy"
PAGE = "/admin/governance/compliance"


def report(http: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The report's controls by id."""
    response = http.get(REPORT, headers=headers)
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["controls"]}


def test_compliance_report_judges_every_regime_now(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    body = http.get(REPORT, headers=headers).json()
    assert [r["name"] for r in body["regimes"]] == ["HIPAA", "PCI-DSS", "SOC 2", "GDPR"]
    assert sum(r["passed"] + r["failed"] for r in body["regimes"]) == len(body["controls"]) == 15
    controls = {c["id"]: c for c in body["controls"]}
    assert body["passed"] is False
    # The bootstrap admin holds Super Admin and has no owner: access control fails by it.
    access = controls["pci-access-control"]
    assert access["status"] == "fail"
    assert access["failing"] == [{"type": "client", "id": admin.id, "name": "test admin",
                                  "selfUri": f"{CLIENTS}/{admin.id}"}]
    assert controls["hipaa-audit"]["status"] == "pass"
    assert "the chain verifies" in controls["hipaa-audit"]["evidence"]
    assert controls["soc2-incident-response"]["status"] == "pass"  # e-mail is configured
    assert controls["gdpr-subject-rights"]["status"] == "pass"
    retention = controls["gdpr-retention"]
    assert retention["status"] == "fail"  # the audit log is kept for ever by default
    assert [f["id"] for f in retention["failing"]] == ["auditRetentionDays"]
    change = controls["soc2-change-management"]
    assert change["status"] == "fail"
    assert [f["id"] for f in change["failing"]] == ["deletionApproval"]
    # Live: the policy changes, the control passes on the next request.
    assert http.put(POLICY, headers=headers, json={
        "deletionApproval": True, "auditRetentionDays": 2555}).status_code == 200
    after = report(http, headers)
    assert after["soc2-change-management"]["status"] == "pass"
    assert after["gdpr-retention"]["status"] == "pass"
    assert "auditRetentionDays kept 2555 days" in after["gdpr-retention"]["evidence"]


def test_compliance_report_goes_red_when_an_audit_entry_is_edited(
        http: TestClient, headers: dict[str, str]) -> None:
    assert report(http, headers)["hipaa-audit"]["status"] == "pass"
    rows(http, "UPDATE audit_events SET entity_name = 'forged' WHERE seq = 1 RETURNING seq")
    controls = report(http, headers)
    for control_id in ("hipaa-audit", "soc2-audit-trail", "gdpr-processing-log"):
        assert controls[control_id]["status"] == "fail", control_id
        assert "entry 1: contents do not match its hash" in controls[control_id]["evidence"]
        assert controls[control_id]["failing"][0]["selfUri"] == "/api/v2/audits/query"


def test_compliance_report_finds_a_secret_no_audit_entry_documents(
        http: TestClient, headers: dict[str, str], clock: ManualClock) -> None:
    reader = bootstrap(http, name="reader", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    assert report(http, headers)["hipaa-rotations-documented"]["status"] == "pass"
    clock.advance(600)
    swap_secret_behind_keysteads_back(http, reader.id)
    documented = report(http, headers)["hipaa-rotations-documented"]
    assert documented["status"] == "fail"
    assert [f["id"] for f in documented["failing"]] == [reader.id]
    # Regenerated through the API: the new secret is audited, the control passes again.
    regenerated = http.post(f"{CLIENTS}/{reader.id}/secret", headers=headers, json={})
    assert regenerated.status_code == 200, regenerated.text
    assert report(http, headers)["hipaa-rotations-documented"]["status"] == "pass"


def swap_secret_behind_keysteads_back(http: TestClient, client_id: str) -> None:
    """What someone with the database could do: the current secret made now, no audit entry."""

    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(update(client_secrets).where(
                client_secrets.c.client_id == client_id).values(date_created=runtime.clock()))

    run(http, work)


def test_compliance_report_an_admin_who_has_not_enrolled_mfa_fails_hipaa(
        http: TestClient, headers: dict[str, str]) -> None:
    assert report(http, headers)["hipaa-mfa"]["status"] == "pass"  # no admin user yet
    late = create_user(http, "late@example.com", roles=("OAuth Admin",))
    mfa = report(http, headers)["hipaa-mfa"]
    assert mfa["status"] == "fail"
    assert mfa["failing"] == [{"type": "user", "id": late.id, "name": "late@example.com",
                               "selfUri": f"/api/v2/users/{late.id}"}]
    sign_in(http, late)  # the console makes an admin enrol TOTP before anything else
    assert report(http, headers)["hipaa-mfa"]["status"] == "pass"


def test_compliance_report_secrets_past_the_rotation_age_fail_pci_live(
        http: TestClient, admin: Registered, clock: ManualClock) -> None:
    assert report(http, bearer(token(http, admin)))["pci-secret-age"]["status"] == "pass"
    clock.advance(31 * DAY)
    age = report(http, bearer(token(http, admin)))["pci-secret-age"]
    assert age["status"] == "fail"  # no evaluation was run: judged now
    assert [f["id"] for f in age["failing"]] == [admin.id]
    assert "older than 30 days" in age["evidence"]


def test_compliance_report_as_csv_one_row_per_control(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.get(REPORT, headers=headers, params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="compliance-')
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["regime", "control", "title", "status", "evidence", "failing"]
    assert len(table) == 16
    assert {row[3] for row in table[1:]} <= {"pass", "fail"}
    bad = http.get(REPORT, headers=headers, params={"format": "xml"})
    assert bad.status_code == 400
    assert bad.json()["details"][0]["fieldName"] == "format"


def test_compliance_report_needs_the_permission_and_the_scope(
        http: TestClient, admin: Registered) -> None:
    make_role(http, bearer(token(http, admin)), "Findings reader",
              ["governance:finding:view"])
    reader = bootstrap(http, name="findings reader", roles=["Findings reader"],
                       scopes=["governance:readonly"])
    refused = http.get(REPORT, headers=bearer(token(http, reader)))
    assert refused.status_code == 403
    assert "governance:compliance:view" in refused.text
    narrow = http.get(REPORT, headers=bearer(token(http, admin, scope="oauth:readonly")))
    assert narrow.status_code == 403
    assert "governance:readonly" in narrow.text


def test_compliance_page_shows_each_control_with_links_and_downloads(
        console: Console, admin: Registered) -> None:
    page = console.http.get(PAGE)
    assert page.status_code == 200
    assert f'href="{PAGE}"' in page.text  # in the navigation
    assert page.text.count('<tr data-control="') == 15
    assert 'data-control="pci-access-control" data-status="fail"' in page.text
    assert f'href="/admin/integrations/oauth/{admin.id}"' in page.text
    assert 'href="/admin/governance/policy#deletionApproval"' in page.text
    downloaded = console.http.get(f"{PAGE}.csv")
    assert downloaded.status_code == 200
    assert downloaded.text.startswith("regime,control,title,status,evidence,failing")
    as_json = console.http.get(f"{PAGE}.json")
    assert len(as_json.json()["controls"]) == 15


def test_compliance_page_is_refused_to_a_user_without_the_permission(
        http: TestClient, headers: dict[str, str]) -> None:
    make_role(http, headers, "Findings reader", ["governance:finding:view"])
    viewer = create_user(http, "viewer@example.com", roles=("Findings reader",))
    sign_in(http, viewer)
    assert f'href="{PAGE}"' not in http.get("/admin").text
    assert http.get(PAGE).status_code == 403
    assert http.get(f"{PAGE}.csv").status_code == 403
