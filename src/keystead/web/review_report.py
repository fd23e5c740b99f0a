"""Access reviews as JSON and CSV: what the API, the console's report page and the CLI show.

The CSV is meant to be opened in a spreadsheet, so a cell that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return: OWASP's CSV injection
list) is written with a leading apostrophe; comments and client names are free text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.reviews import Campaign, Progress, ReviewItem
from keystead.web.presenters import actor_ref, iso

BASE = "/api/v2/governance/reviews"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("clientId", "clientName", "reviewerId", "reviewerName", "decision", "comment",
               "decidedBy", "decidedAt", "removedScopes", "removedRoleIds", "escalatedAt")


def campaign_json(campaign: Campaign, progress: Progress) -> dict[str, Any]:
    return {
        "id": campaign.id, "name": campaign.name, "dueDate": iso(campaign.due_at),
        "selection": campaign.selection.to_document(),
        "fallbackReviewer": {"id": campaign.fallback_reviewer_id,
                             "selfUri": f"/api/v2/users/{campaign.fallback_reviewer_id}"},
        "owner": actor_ref(campaign.owner), "state": campaign.state.value,
        "dateCreated": iso(campaign.created_at), "dateClosed": iso(campaign.closed_at),
        "closedReason": campaign.closed_reason, "itemCount": progress.items,
        "decidedCount": progress.decided, "selfUri": f"{BASE}/{campaign.id}",
    }


def evidence_json(evidence: Evidence, *, since: date) -> dict[str, Any]:
    return {"since": since.isoformat(), "tokens": evidence.tokens,
            "tokensByGrant": dict(evidence.tokens_by_grant),
            "failuresByReason": dict(evidence.failures_by_reason),
            "scopesGranted": sorted(evidence.scopes_granted),
            "permissionsExercised": sorted(evidence.permissions_exercised),
            "networks": sorted(evidence.networks),
            "lastDay": evidence.last_day.isoformat() if evidence.last_day else None}


def item_json(item: ReviewItem, *, evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": item.id,
        "client": {"id": item.client_id, "name": item.client_name,
                   "selfUri": f"/api/v2/oauth/clients/{item.client_id}"},
        "reviewer": {"id": item.reviewer_id, "name": item.reviewer_name,
                     "selfUri": f"/api/v2/users/{item.reviewer_id}"},
        "decision": item.decision.value if item.decision else None,
        "comment": item.comment,
        "decidedBy": actor_ref(item.decided_by) if item.decided_by else None,
        "dateDecided": iso(item.decided_at),
        "removedScopes": list(item.removed.scopes),
        "removedRoleIds": list(item.removed.role_ids),
        "dateReminded": iso(item.reminded_at), "dateEscalated": iso(item.escalated_at),
        "selfUri": f"{BASE}/{item.campaign_id}/items/{item.id}",
    }
    if evidence is not None:
        body["evidence"] = evidence
    return body


def report_rows(items: Sequence[ReviewItem]) -> list[dict[str, Any]]:
    """One row per item, in ``CSV_COLUMNS`` order."""
    return [{
        "clientId": i.client_id, "clientName": i.client_name, "reviewerId": i.reviewer_id,
        "reviewerName": i.reviewer_name, "decision": i.decision.value if i.decision else None,
        "comment": i.comment,
        "decidedBy": (i.decided_by.name or i.decided_by.id) if i.decided_by else None,
        "decidedAt": iso(i.decided_at), "removedScopes": list(i.removed.scopes),
        "removedRoleIds": list(i.removed.role_ids), "escalatedAt": iso(i.escalated_at),
    } for i in items]


def report_json(campaign: Campaign, progress: Progress, items: Sequence[ReviewItem], *,
                generated: str | None) -> dict[str, Any]:
    return {"campaign": campaign_json(campaign, progress), "dateGenerated": generated,
            "entities": report_rows(items), "total": len(items)}


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def report_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV with a header row (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([neutralise(_cell(row[column])) for column in CSV_COLUMNS])
    return out.getvalue()
