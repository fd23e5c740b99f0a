"""/api/v2/governance/deactivations: plan, change, cancel and list clients' deactivations.

A plan is named by its client's id. The changes need ``oauth:client:edit`` on the client and the
``governance`` scope; reading needs ``oauth:client:view`` and ``governance:readonly``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.web.api.common import call, entity_handler, permitted_body, removal_handler
from keystead.web.errors import json_response
from keystead.web.presenters import planned_json
from keystead.web.routing import route_at
from keystead.web.schemas import DeactivationRequest

BASE = "/api/v2/governance/deactivations"
READ, WRITE = "governance:readonly", "governance"


async def list_plans(request: Request) -> Response:
    async with call(request, scope=READ) as c:
        found = await c.runtime.deactivations(c.conn).list(c.caller)
    return json_response({"entities": [planned_json(p) for p in found], "total": len(found),
                          "selfUri": BASE})


get_plan = entity_handler(READ, lambda c: c.runtime.deactivations(c.conn).view, planned_json)


async def create_plan(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.OAUTH_CLIENT_EDIT,
                                    DeactivationRequest)
        if not body.clientId:
            raise InvalidInputError.one("clientId", "required",
                                        "clientId names the client to deactivate")
        planned = await c.runtime.deactivations(c.conn).schedule(
            c.caller, body.clientId, date=body.date, reason=body.reason,
            replacement_id=body.replacementClientId)
    return json_response(planned_json(planned), status=201)


async def update_plan(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.OAUTH_CLIENT_EDIT,
                                    DeactivationRequest)
        client_id = request.path_params["id"]
        if body.clientId not in (None, client_id):
            raise InvalidInputError.one("clientId", "immutable",
                                        "a plan's client cannot change; cancel it instead")
        planned = await c.runtime.deactivations(c.conn).reschedule(
            c.caller, client_id, date=body.date, reason=body.reason,
            replacement_id=body.replacementClientId)
    return json_response(planned_json(planned))


cancel_plan = removal_handler(WRITE, lambda c: c.runtime.deactivations(c.conn).cancel)


routes = [
    route_at(BASE, get=list_plans, post=create_plan),
    route_at(BASE + "/{id}", get=get_plan, put=update_plan, delete=cancel_plan),
]
