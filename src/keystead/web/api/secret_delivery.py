"""/api/v2/oauth/clients/{id}/secret/destination: where a client's secret is delivered, and
its rotation schedule (Keystead's extension; the Genesys API shows secrets instead).

PUT sets or replaces it, GET reads it (with ``nextRotationDate``), DELETE forgets it. Setting it
needs ``oauth:client:edit`` and every permission the client's roles give, like regenerating.
``POST .../secret`` with ``{"deliver": true}`` rotates into it (``clients.py``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.permissions import Permission
from keystead.domain.secret_delivery import Schedule
from keystead.web.api.clients import BASE
from keystead.web.api.common import call, entity_handler, permitted_body, removal_handler
from keystead.web.errors import json_response
from keystead.web.presenters import delivery_json
from keystead.web.routing import route_at

PATH = BASE + "/{id}/secret/destination"


class RotationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    everyDays: int  # noqa: N815
    dualUseSeconds: int | None = None  # noqa: N815


class DestinationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: str = Field(max_length=32)
    settings: dict[str, str] = Field(default_factory=dict, max_length=20)
    rotation: RotationRequest | None = None


get_destination = entity_handler(
    "oauth:readonly", lambda c: c.runtime.secret_delivery(c.conn).view, delivery_json)


async def put_destination(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        body = await permitted_body(c, request, Permission.OAUTH_CLIENT_EDIT,
                                    DestinationRequest)
        rotation = body.rotation
        schedule = None if rotation is None else Schedule(
            rotation.everyDays, c.runtime.settings.default_dual_use_seconds
            if rotation.dualUseSeconds is None else rotation.dualUseSeconds)
        found = await c.runtime.secret_delivery(c.conn).configure(
            c.caller, request.path_params["id"], kind=body.kind, settings=body.settings,
            schedule=schedule)
    return json_response(delivery_json(found))


delete_destination = removal_handler("oauth",
                                     lambda c: c.runtime.secret_delivery(c.conn).remove)


routes = [
    route_at(PATH, get=get_destination, put=put_destination, delete=delete_destination),
]
