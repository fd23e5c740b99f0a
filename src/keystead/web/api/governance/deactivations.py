"""/api/v2/governance/deactivations: planned deactivations, one per client (issue 12 §6)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import NotFoundError
from keystead.domain.governance.deactivation import DeactivationPlan
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref, iso, listing
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/deactivations"


class DeactivationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deactivateAt: AwareDatetime  # noqa: N815
    reason: str = Field(max_length=1_000)
    replacementClientId: str | None = Field(default=None, max_length=36)  # noqa: N815


def plan_json(plan: DeactivationPlan) -> dict[str, Any]:
    return {"clientId": plan.client_id, "clientName": plan.client_name,
            "deactivateAt": iso(plan.deactivate_at), "reason": plan.reason,
            "replacementClientId": plan.replacement_client_id,
            "plannedBy": actor_ref(plan.planned_by), "datePlanned": iso(plan.planned_at),
            "dateReminded": iso(plan.reminded_at), "selfUri": f"{BASE}/{plan.client_id}"}


async def list_plans(request: Request) -> Response:
    async with call(request, scope="governance:readonly") as c:
        plans = await c.runtime.deactivations(c.conn).list(c.caller)
    return json_response(listing(plans, plan_json, total=len(plans), page_number=1,
                                 page_size=max(len(plans), 1), uri=BASE))


async def get_plan(request: Request) -> Response:
    async with call(request, scope="governance:readonly") as c:
        client_id = request.path_params["clientId"]
        plan = await c.runtime.deactivations(c.conn).find(c.caller, client_id)
        if plan is None:
            raise NotFoundError(f"OAuth client {client_id} has no planned deactivation")
    return json_response(plan_json(plan))


async def put_plan(request: Request) -> Response:
    async with call(request, scope="governance") as c:
        body = parse_body(DeactivationRequest, await request.body())
        plan = await c.runtime.deactivations(c.conn).plan(
            c.caller, request.path_params["clientId"], deactivate_at=body.deactivateAt,
            reason=body.reason, replacement_client_id=body.replacementClientId)
    return json_response(plan_json(plan))


async def cancel_plan(request: Request) -> Response:
    async with call(request, scope="governance") as c:
        await c.runtime.deactivations(c.conn).cancel(c.caller, request.path_params["clientId"])
    return Response(status_code=204)


routes = [
    Route(BASE, list_plans, methods=["GET"]),
    Route(BASE + "/{clientId}", get_plan, methods=["GET"]),
    Route(BASE + "/{clientId}", put_plan, methods=["PUT"]),
    Route(BASE + "/{clientId}", cancel_plan, methods=["DELETE"]),
]
