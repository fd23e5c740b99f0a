"""The compliance report's wire forms: JSON (API and console download) and CSV (one row per
control, formulas neutralised as in the review report)."""

from __future__ import annotations

import csv
import io
from typing import Any

from keystead.domain.governance.compliance import ComplianceReport, Failing, Target
from keystead.web.presenters import iso
from keystead.web.review_report import neutralise

CSV_COLUMNS = ("regime", "control", "title", "status", "evidence", "failing")
# Where each kind of failing target is managed, in the console and in the API.
CONSOLE_PATHS = {
    Target.client: "/admin/integrations/oauth/{id}", Target.user: "/admin/users/{id}",
    Target.policy: "/admin/governance/policy#{id}", Target.audit: "/admin/audit",
    Target.reviews: "/admin/reviews", Target.setting: "",
}
API_PATHS = {
    Target.client: "/api/v2/oauth/clients/{id}", Target.user: "/api/v2/users/{id}",
    Target.policy: "/api/v2/governance/policy", Target.audit: "/api/v2/audits/query",
    Target.reviews: "/api/v2/governance/reviews", Target.setting: "",
}


def console_href(failing: Failing) -> str:
    return CONSOLE_PATHS[failing.target].format(id=failing.id)


def _failing_json(failing: Failing) -> dict[str, Any]:
    uri = API_PATHS[failing.target].format(id=failing.id)
    return {"type": str(failing.target), "id": failing.id, "name": failing.label,
            "selfUri": uri or None}


def report_json(report: ComplianceReport) -> dict[str, Any]:
    return {
        "generatedAt": iso(report.generated_at),
        "passed": report.passed,
        "regimes": [{"name": str(regime), "passed": passed, "failed": failed}
                    for regime, (passed, failed) in report.summary().items()],
        "controls": [{"regime": str(c.regime), "id": c.id, "title": c.title,
                      "status": "pass" if c.passed else "fail", "evidence": c.evidence,
                      "failing": [_failing_json(f) for f in c.failing]}
                     for c in report.controls],
    }


def report_csv(report: ComplianceReport) -> str:
    """The controls as CSV with a header row (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in report.controls:
        failing = "; ".join(f"{f.target} {f.label}" for f in c.failing)
        writer.writerow([neutralise(cell) for cell in (
            str(c.regime), c.id, c.title, "pass" if c.passed else "fail", c.evidence, failing)])
    return out.getvalue()


def attachment(report: ComplianceReport, extension: str) -> dict[str, str]:
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    return {"content-disposition": f'attachment; filename="compliance-{stamp}.{extension}"'}
