"""/api/v2/governance/deletion-requests: deletions waiting for a second admin (policy
``deletionApproval``); ``DELETE /api/v2/oauth/clients/{id}`` files them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.governance.deletion_requests import DeletionRequest, RequestState
from keystead.web.api.common import call, entity_handler, listed, paging, query_choice
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref, iso
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/deletion-requests"
READ, WRITE = "governance:readonly", "governance"


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str


def deletion_request_json(request: DeletionRequest) -> dict[str, Any]:
    return {"id": request.id, "clientId": request.client_id, "clientName": request.client_name,
            "requestedBy": actor_ref(request.requested_by),
            "dateRequested": iso(request.requested_at), "expiresAt": iso(request.expires_at),
            "state": str(request.state),
            "decidedBy": actor_ref(request.decided_by) if request.decided_by else None,
            "dateDecided": iso(request.decided_at), "reason": request.reason or None,
            "selfUri": f"{BASE}/{request.id}"}


async def list_requests(request: Request) -> Response:
    async with call(request, scope=READ) as c:
        page = paging(request)
        state = query_choice(request, "state", RequestState, message=(
            f"state must be one of: {', '.join(s.value for s in RequestState)}"))
        found, total = await c.runtime.client_deletion(c.conn).list(
            c.caller, page, client_id=request.query_params.get("clientId"), state=state)
    return listed(found, deletion_request_json, total=total, page=page, uri=BASE)


get_request = entity_handler(READ, lambda c: c.runtime.client_deletion(c.conn).find,
                             deletion_request_json)
approve = entity_handler(WRITE, lambda c: c.runtime.client_deletion(c.conn).approve,
                         deletion_request_json)


async def reject(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = parse_body(RejectRequest, await request.body())
        decided = await c.runtime.client_deletion(c.conn).reject(
            c.caller, request.path_params["id"], body.reason)
    return json_response(deletion_request_json(decided))


routes = [
    route_at(BASE, get=list_requests),
    route_at(BASE + "/{id}", get=get_request),
    route_at(BASE + "/{id}/approve", post=approve),
    route_at(BASE + "/{id}/reject", post=reject),
]
