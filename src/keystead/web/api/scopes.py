"""/api/v2/oauth/scopes: the scope catalogue (built-ins plus the organisation's own).

Each handler parses the request and calls the organisation use cases, which check, change and
audit (the console calls the same ones). A change's permission is checked before its body is
read, as everywhere on the API: a caller who may not make it learns nothing of the input rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.domain.scopes import UNCHANGED
from keystead.web.api.common import call, entity_handler, permitted_body, removal_handler
from keystead.web.errors import json_response
from keystead.web.presenters import scope_json
from keystead.web.routing import route_at
from keystead.web.schemas import ScopeRequest

BASE = "/api/v2/oauth/scopes"


async def list_scopes(request: Request) -> Response:
    async with call(request, scope="oauth:readonly") as c:
        found = await c.runtime.scopes(c.conn).list(c.caller)
    return json_response({"total": len(found), "entities": [scope_json(s) for s in found],
                          "selfUri": BASE})


get_scope = entity_handler("oauth:readonly", lambda c: c.runtime.scopes(c.conn).find, scope_json)


async def create_scope(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        body = await permitted_body(c, request, Permission.OAUTH_SCOPE_ADD, ScopeRequest)
        scope = await c.runtime.scopes(c.conn).create(
            c.caller, scope_id=body.id, description=body.description or "",
            resource_server=body.resourceServer)
    return json_response(scope_json(scope))


async def update_scope(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        body = await permitted_body(c, request, Permission.OAUTH_SCOPE_EDIT, ScopeRequest)
        scope_id = request.path_params["id"]
        if body.id != scope_id:
            raise InvalidInputError.one("id", "immutable", "a scope's id cannot be changed")
        scope = await c.runtime.scopes(c.conn).update(
            c.caller, scope_id, description=body.description or "",
            resource_server=(body.resourceServer if "resourceServer" in body.model_fields_set
                             else UNCHANGED))
    return json_response(scope_json(scope))


delete_scope = removal_handler("oauth", lambda c: c.runtime.scopes(c.conn).delete)


routes = [
    route_at(BASE, get=list_scopes, post=create_scope),
    route_at(BASE + "/{id:path}", get=get_scope, put=update_scope, delete=delete_scope),
]
