"""/api/v2/authorization: divisions, roles and the permission catalogue (Genesys shapes).

Each handler parses the request and calls the organisation use cases, which check, change and
audit (the console calls the same ones). A change's permission is checked before its body is
read, as everywhere on the API: a caller who may not make it learns nothing of the input rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.permissions import Permission
from keystead.web.api.common import (
    call,
    entity_handler,
    listed,
    one_page,
    paging,
    permitted_body,
    removal_handler,
)
from keystead.web.errors import json_response
from keystead.web.presenters import division_json, permission_catalogue, role_json
from keystead.web.routing import route_at
from keystead.web.schemas import DivisionRequest, RoleRequest

DIVISIONS = "/api/v2/authorization/divisions"
ROLES = "/api/v2/authorization/roles"
READ, WRITE = "authorization:readonly", "authorization"


async def list_divisions(request: Request) -> Response:
    async with call(request, scope=READ) as c:
        found = await c.runtime.divisions(c.conn).list(c.caller)
        page = paging(request)
    return listed(one_page(found, page), division_json, total=len(found), page=page,
                  uri=DIVISIONS)


async def home_division(request: Request) -> Response:
    async with call(request, scope=READ) as c:
        found = await c.runtime.divisions(c.conn).home(c.caller)
    return json_response(division_json(found))


get_division = entity_handler(READ, lambda c: c.runtime.divisions(c.conn).find, division_json)


async def create_division(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.AUTHORIZATION_DIVISION_ADD,
                                    DivisionRequest)
        division = await c.runtime.divisions(c.conn).create(c.caller, name=body.name,
                                                 description=body.description or "")
    return json_response(division_json(division))


async def update_division(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.AUTHORIZATION_DIVISION_EDIT,
                                    DivisionRequest)
        division = await c.runtime.divisions(c.conn).update(c.caller, request.path_params["id"],
                                                 name=body.name,
                                                 description=body.description or "")
    return json_response(division_json(division))


delete_division = removal_handler(WRITE, lambda c: c.runtime.divisions(c.conn).delete)


async def list_roles(request: Request) -> Response:
    async with call(request, scope=READ) as c:
        found = await c.runtime.roles(c.conn).list(c.caller, name=request.query_params.get("name"))
        page = paging(request)
    return listed(one_page(found, page), role_json, total=len(found), page=page, uri=ROLES)


get_role = entity_handler(READ, lambda c: c.runtime.roles(c.conn).find, role_json)


async def create_role(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.AUTHORIZATION_ROLE_ADD, RoleRequest)
        role = await c.runtime.roles(c.conn).create(c.caller, name=body.name,
                                         description=body.description or "",
                                         permissions=body.permission_list())
    return json_response(role_json(role))


async def update_role(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = await permitted_body(c, request, Permission.AUTHORIZATION_ROLE_EDIT, RoleRequest)
        role = await c.runtime.roles(c.conn).update(
            c.caller, request.path_params["id"], name=body.name,
            description=body.description or "", permissions=body.permission_list())
    return json_response(role_json(role))


delete_role = removal_handler(WRITE, lambda c: c.runtime.roles(c.conn).delete)


async def permissions(request: Request) -> Response:
    async with call(request, scope=READ):
        pass
    entries = permission_catalogue()
    return json_response({"entities": entries, "pageSize": len(entries), "pageNumber": 1,
                          "total": len(entries), "pageCount": 1})


routes = [
    route_at(DIVISIONS, get=list_divisions, post=create_division),
    route_at(DIVISIONS + "/home", get=home_division),  # before /{id}, which would take "home"
    route_at(DIVISIONS + "/{id}", get=get_division, put=update_division, delete=delete_division),
    route_at(ROLES, get=list_roles, post=create_role),
    route_at(ROLES + "/{id}", get=get_role, put=update_role, delete=delete_role),
    route_at("/api/v2/authorization/permissions", get=permissions),
]
