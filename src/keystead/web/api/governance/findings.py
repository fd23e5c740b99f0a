"""/api/v2/governance/findings: list and read findings, evaluate now, archive, unarchive, fix.

Reads need the ``governance:readonly`` scope (or ``governance``) and ``governance:finding:view``;
changes need the ``governance`` scope and ``governance:finding:edit``, and a remedy also the
permission of the client change it makes (``oauth:client:edit``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.governance.alerts import when  # the governance wire form of a time
from keystead.domain.governance.finding_engine import describe_evaluation
from keystead.domain.governance.findings import Finding, finding_filter
from keystead.domain.paging import Page
from keystead.web.api.common import Call, call, entity_handler, listing_handler
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/findings"
READ, WRITE = "governance:readonly", "governance"


class ArchiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = ""


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clientId: str | None = None  # noqa: N815 - the wire name


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding in its wire form (README "Findings")."""
    body: dict[str, Any] = {
        "id": finding.id, "kind": str(finding.kind), "subject": finding.subject or None,
        "severity": str(finding.severity), "clientId": finding.client_id,
        "clientName": finding.client_name, "state": str(finding.state),
        "evidence": dict(finding.evidence), "recommendation": finding.recommendation,
        "remedy": {"available": finding.remedy is not None,
                   "action": None if finding.remedy is None else str(finding.remedy),
                   "description": finding.remedy_description},
        "firstSeen": when(finding.first_seen), "lastSeen": when(finding.last_seen),
        "resolvedAt": when(finding.resolved_at), "selfUri": f"{BASE}/{finding.id}",
    }
    if finding.archived_by is not None:
        body["archived"] = {"reason": finding.archived_reason,
                            "by": actor_ref(finding.archived_by),
                            "date": when(finding.archived_at)}
    return body


async def _search(c: Call, request: Request, page: Page) -> tuple[list[Finding], int]:
    flt = finding_filter(request.query_params)
    return await c.runtime.findings(c.conn).search(c.caller, flt, page)


list_findings = listing_handler(READ, _search, finding_json, uri=BASE)


get_finding = entity_handler(READ, lambda c: c.runtime.findings(c.conn).find, finding_json)


async def evaluate(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = parse_body(EvaluateRequest, await request.body(), allow_null=True)
        done = await c.runtime.findings(c.conn).evaluate(
            c.caller, client_ids=None if body.clientId is None else [body.clientId])
    return json_response(describe_evaluation(done))


async def archive(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = parse_body(ArchiveRequest, await request.body(), allow_null=True)
        finding = await c.runtime.findings(c.conn).archive(
            c.caller, request.path_params["id"], body.reason)
    return json_response(finding_json(finding))


unarchive = entity_handler(WRITE, lambda c: c.runtime.findings(c.conn).unarchive, finding_json)
remedy = entity_handler(WRITE, lambda c: c.runtime.findings(c.conn).remedy, finding_json)


routes = [
    route_at(BASE, get=list_findings),
    route_at(f"{BASE}/evaluate", post=evaluate),
    route_at(f"{BASE}/{{id}}", get=get_finding),
    route_at(f"{BASE}/{{id}}/archive", post=archive),
    route_at(f"{BASE}/{{id}}/unarchive", post=unarchive),
    route_at(f"{BASE}/{{id}}/remedy", post=remedy),
]
