"""/api/v2/governance/alerts: list and read alerts, evaluate now, acknowledge, resolve.

Reads need the ``governance:readonly`` scope (or ``governance``) and ``governance:alert:view``;
changes need the ``governance`` scope and ``governance:alert:edit``. Every change is audited.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.governance.alert_engine import describe_run
from keystead.domain.governance.alerts import ALERTS_URI, Alert, alert_filter, when
from keystead.domain.paging import Page
from keystead.web.api.common import Call, call, entity_handler, listing_handler
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref
from keystead.web.routing import route_at

READ, WRITE = "governance:readonly", "governance"
AUDIT_PAGE = "/admin/audit?client="  # the console's audit trail of one entity


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert in its wire form (README "Alerts")."""
    body: dict[str, Any] = {
        "id": alert.id, "rule": str(alert.rule), "severity": str(alert.severity),
        "state": str(alert.state), "count": alert.count, "clientId": alert.client_id,
        "clientName": alert.client_name or None, "subject": alert.subject or None,
        "summary": alert.summary, "evidence": dict(alert.evidence),
        "firstSeen": when(alert.first_seen), "lastSeen": when(alert.last_seen),
        "links": {
            "client": None if alert.client_id is None
            else f"/api/v2/oauth/clients/{alert.client_id}",
            # The alert's own trail (raised, acknowledged, resolved) and the client's.
            "auditTrail": f"{AUDIT_PAGE}{alert.id}",
            "clientAuditTrail": None if alert.client_id is None
            else f"{AUDIT_PAGE}{alert.client_id}"},
        "selfUri": f"{ALERTS_URI}/{alert.id}",
    }
    for name, by, at in (("acknowledged", alert.acknowledged_by, alert.acknowledged_at),
                         ("resolved", alert.resolved_by, alert.resolved_at)):
        body[name] = None if by is None else {"by": actor_ref(by), "date": when(at)}
    return body


async def _search(c: Call, request: Request, page: Page) -> tuple[list[Alert], int]:
    flt = alert_filter(request.query_params)
    return await c.runtime.alerts(c.conn).search(c.caller, flt, page)


list_alerts = listing_handler(READ, _search, alert_json, uri=ALERTS_URI)


get_alert = entity_handler(READ, lambda c: c.runtime.alerts(c.conn).find, alert_json)


async def evaluate(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        done = await c.runtime.alerts(c.conn).evaluate(c.caller)
    return json_response(describe_run(done))


acknowledge = entity_handler(WRITE, lambda c: c.runtime.alerts(c.conn).acknowledge, alert_json)
resolve = entity_handler(WRITE, lambda c: c.runtime.alerts(c.conn).resolve, alert_json)


routes = [
    route_at(ALERTS_URI, get=list_alerts),
    route_at(f"{ALERTS_URI}/evaluate", post=evaluate),
    route_at(f"{ALERTS_URI}/{{id}}", get=get_alert),
    route_at(f"{ALERTS_URI}/{{id}}/acknowledge", post=acknowledge),
    route_at(f"{ALERTS_URI}/{{id}}/resolve", post=resolve),
]
