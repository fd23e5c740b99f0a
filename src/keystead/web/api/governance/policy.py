"""/api/v2/governance/policy: the organisation's governance policy (read and change).

GET needs ``governance:policy:view`` and the scope ``governance:readonly`` (or ``governance``);
PUT needs ``governance:policy:edit`` and ``governance``. A PUT changes only the fields it names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.governance.policy import to_document
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/policy"


class PolicyRequest(BaseModel):
    """Any subset of the policy's wire fields; the domain names each bad one."""

    model_config = ConfigDict(extra="allow")


async def get_policy(request: Request) -> Response:
    async with call(request, scope="governance:readonly") as c:
        policy = await c.runtime.policy(c.conn).view(c.caller)
    return json_response(to_document(policy) | {"selfUri": BASE})


async def put_policy(request: Request) -> Response:
    async with call(request, scope="governance") as c:
        body = parse_body(PolicyRequest, await request.body(), ignore=frozenset({"selfUri"}))
        policy = await c.runtime.policy(c.conn).update(c.caller, body.model_extra or {})
    return json_response(to_document(policy) | {"selfUri": BASE})


routes = [
    route_at(BASE, get=get_policy, put=put_policy),
]
