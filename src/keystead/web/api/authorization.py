"""/api/v2/authorization: divisions, roles and the permission catalogue (Genesys shapes).

Each handler parses the request and calls the organisation use cases, which check, change and
audit (the console calls the same ones). A change's permission is checked before its body is
read, as everywhere on the API: a caller who may not make it learns nothing of the input rules.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.permissions import Permission
from keystead.web.api.common import call, paging
from keystead.web.errors import json_response
from keystead.web.presenters import (
    division_json,
    listing,
    permission_catalogue,
    role_json,
)
from keystead.web.schemas import DivisionRequest, RoleRequest, parse_body

DIVISIONS = "/api/v2/authorization/divisions"
ROLES = "/api/v2/authorization/roles"


async def list_divisions(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        found = await c.runtime.divisions(c.conn).list(c.caller)
        number, size = paging(request)
    page = found[(number - 1) * size: number * size]
    return json_response(listing(page, division_json, total=len(found), page_number=number,
                                 page_size=size, uri=DIVISIONS))


async def home_division(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        found = await c.runtime.divisions(c.conn).home(c.caller)
    return json_response(division_json(found))


async def get_division(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        found = await c.runtime.divisions(c.conn).find(c.caller, request.path_params["id"])
    return json_response(division_json(found))


async def create_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_DIVISION_ADD)  # before reading the input
        body = parse_body(DivisionRequest, await request.body())
        division = await c.runtime.divisions(c.conn).create(c.caller, name=body.name,
                                                 description=body.description or "")
    return json_response(division_json(division))


async def update_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_DIVISION_EDIT)  # before reading the input
        body = parse_body(DivisionRequest, await request.body())
        division = await c.runtime.divisions(c.conn).update(c.caller, request.path_params["id"],
                                                 name=body.name,
                                                 description=body.description or "")
    return json_response(division_json(division))


async def delete_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        await c.runtime.divisions(c.conn).delete(c.caller, request.path_params["id"])
    return Response(status_code=204)


async def list_roles(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        found = await c.runtime.roles(c.conn).list(c.caller, name=request.query_params.get("name"))
        number, size = paging(request)
    page = found[(number - 1) * size: number * size]
    return json_response(listing(page, role_json, total=len(found), page_number=number,
                                 page_size=size, uri=ROLES))


async def get_role(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        found = await c.runtime.roles(c.conn).find(c.caller, request.path_params["id"])
    return json_response(role_json(found))


async def create_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_ROLE_ADD)  # before reading the request's input
        body = parse_body(RoleRequest, await request.body())
        role = await c.runtime.roles(c.conn).create(c.caller, name=body.name,
                                         description=body.description or "",
                                         permissions=body.permission_list())
    return json_response(role_json(role))


async def update_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_ROLE_EDIT)  # before reading the request's input
        body = parse_body(RoleRequest, await request.body())
        role = await c.runtime.roles(c.conn).update(
            c.caller, request.path_params["id"], name=body.name,
            description=body.description or "", permissions=body.permission_list())
    return json_response(role_json(role))


async def delete_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        await c.runtime.roles(c.conn).delete(c.caller, request.path_params["id"])
    return Response(status_code=204)


async def permissions(request: Request) -> Response:
    async with call(request, scope="authorization:readonly"):
        pass
    entries = permission_catalogue()
    return json_response({"entities": entries, "pageSize": len(entries), "pageNumber": 1,
                          "total": len(entries), "pageCount": 1})


routes = [
    Route(DIVISIONS, list_divisions, methods=["GET"]),
    Route(DIVISIONS, create_division, methods=["POST"]),
    Route(DIVISIONS + "/home", home_division, methods=["GET"]),
    Route(DIVISIONS + "/{id}", get_division, methods=["GET"]),
    Route(DIVISIONS + "/{id}", update_division, methods=["PUT"]),
    Route(DIVISIONS + "/{id}", delete_division, methods=["DELETE"]),
    Route(ROLES, list_roles, methods=["GET"]),
    Route(ROLES, create_role, methods=["POST"]),
    Route(ROLES + "/{id}", get_role, methods=["GET"]),
    Route(ROLES + "/{id}", update_role, methods=["PUT"]),
    Route(ROLES + "/{id}", delete_role, methods=["DELETE"]),
    Route("/api/v2/authorization/permissions", permissions, methods=["GET"]),
]
