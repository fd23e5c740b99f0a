"""/api/v2/governance/deletion-requests: deletions waiting for a second admin (policy
``deletionApproval``); ``DELETE /api/v2/oauth/clients/{id}`` files them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.deletion_requests import DeletionRequest, RequestState
from keystead.domain.paging import Page
from keystead.web.api.common import call, paging
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref, iso, listing
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/deletion-requests"


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
    async with call(request, scope="governance:readonly") as c:
        number, size = paging(request)
        params = request.query_params
        try:
            state = RequestState(params["state"]) if "state" in params else None
        except ValueError as exc:
            raise InvalidInputError.one("state", "invalid.value", "state must be one of: "
                                        f"{', '.join(s.value for s in RequestState)}") from exc
        found, total = await c.runtime.client_deletion(c.conn).list(
            c.caller, Page(number, size), client_id=params.get("clientId"), state=state)
    return json_response(listing(found, deletion_request_json, total=total,
                                 page_number=number, page_size=size, uri=BASE))


async def get_request(request: Request) -> Response:
    async with call(request, scope="governance:readonly") as c:
        found = await c.runtime.client_deletion(c.conn).find(c.caller, request.path_params["id"])
    return json_response(deletion_request_json(found))


async def approve(request: Request) -> Response:
    async with call(request, scope="governance") as c:
        decided = await c.runtime.client_deletion(c.conn).approve(
            c.caller, request.path_params["id"])
    return json_response(deletion_request_json(decided))


async def reject(request: Request) -> Response:
    async with call(request, scope="governance") as c:
        body = parse_body(RejectRequest, await request.body())
        decided = await c.runtime.client_deletion(c.conn).reject(
            c.caller, request.path_params["id"], body.reason)
    return json_response(deletion_request_json(decided))


routes = [
    Route(BASE, list_requests, methods=["GET"]),
    Route(BASE + "/{id}", get_request, methods=["GET"]),
    Route(BASE + "/{id}/approve", approve, methods=["POST"]),
    Route(BASE + "/{id}/reject", reject, methods=["POST"]),
]
