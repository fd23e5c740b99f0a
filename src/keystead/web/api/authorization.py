"""/api/v2/authorization: divisions, roles and the permission catalogue (Genesys shapes)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audit import JSONValue
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from keystead.domain.organization import (
    Division,
    Role,
    check_description,
    check_name,
    check_role,
)
from keystead.store.catalog import SqlCatalog
from keystead.web.api.common import Call, call, paging
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


def _changes(**pairs: tuple[JSONValue, JSONValue]) -> dict[str, JSONValue]:
    """The audit's ``propertyChanges``: old and new value of each property that changed."""
    return {name: {"old": old, "new": new} for name, (old, new) in pairs.items() if old != new}


async def _division(c: Call, division_id: str) -> Division:
    found = await SqlCatalog(c.conn).division(division_id)
    if found is None:
        raise NotFoundError(f"no division with id {division_id}")
    return found


async def list_divisions(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        c.caller.require("authorization:division:view")
        number, size = paging(request)
        found = await SqlCatalog(c.conn).divisions()
    page = found[(number - 1) * size: number * size]
    return json_response(listing(page, division_json, total=len(found), page_number=number,
                                 page_size=size, uri=DIVISIONS))


async def home_division(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        c.caller.require("authorization:division:view")
        catalog = SqlCatalog(c.conn)
        found = await _division(c, await catalog.home_division_id())
    return json_response(division_json(found))


async def get_division(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        c.caller.require("authorization:division:view")
        found = await _division(c, request.path_params["id"])
    return json_response(division_json(found))


async def create_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:division:add")
        body = parse_body(DivisionRequest, await request.body())
        catalog = SqlCatalog(c.conn)
        await _check_division(catalog, body)
        division = Division(str(uuid.uuid4()), body.name, body.description or "", False,
                            c.runtime.clock())
        await catalog.add_division(division)
        await c.record("create", entity_type="Division", entity_id=division.id,
                       entity_name=division.name)
    return json_response(division_json(division))


async def _check_division(catalog: SqlCatalog, body: DivisionRequest,
                          except_id: str | None = None) -> None:
    if problems := check_name(body.name) + check_description(body.description or ""):
        raise InvalidInputError(problems)
    if await catalog.name_taken("divisions", body.name, except_id=except_id):
        raise ConflictError(f"a division named {body.name!r} already exists")


async def update_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:division:edit")
        body = parse_body(DivisionRequest, await request.body())
        catalog = SqlCatalog(c.conn)
        old = await _division(c, request.path_params["id"])
        await _check_division(catalog, body, except_id=old.id)
        await catalog.update_division(old.id, name=body.name, description=body.description or "")
        await c.record("update", entity_type="Division", entity_id=old.id, entity_name=body.name,
                       details={"propertyChanges": _changes(
                           name=(old.name, body.name),
                           description=(old.description, body.description or ""))})
        found = await _division(c, old.id)
    return json_response(division_json(found))


async def delete_division(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:division:delete")
        catalog = SqlCatalog(c.conn)
        found = await _division(c, request.path_params["id"])
        if found.home:
            raise ConflictError("the Home division cannot be deleted")
        if await catalog.division_in_use(found.id):
            raise ConflictError("the division is used by role grants; remove them first")
        await catalog.delete_division(found.id)
        await c.record("delete", entity_type="Division", entity_id=found.id,
                       entity_name=found.name)
    return Response(status_code=204)


async def _role(c: Call, role_id: str) -> Role:
    found = await SqlCatalog(c.conn).role(role_id)
    if found is None:
        raise NotFoundError(f"no role with id {role_id}")
    return found


async def list_roles(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        c.caller.require("authorization:role:view")
        number, size = paging(request)
        name = request.query_params.get("name")
        found = [r for r in await SqlCatalog(c.conn).roles()
                 if name is None or name.lower() in r.name.lower()]
    page = found[(number - 1) * size: number * size]
    return json_response(listing(page, role_json, total=len(found), page_number=number,
                                 page_size=size, uri=ROLES))


async def get_role(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        c.caller.require("authorization:role:view")
        found = await _role(c, request.path_params["id"])
    return json_response(role_json(found))


async def create_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:role:add")
        body = parse_body(RoleRequest, await request.body())
        catalog = SqlCatalog(c.conn)
        permissions = body.permission_list()
        if problems := check_role(body.name, body.description or "", permissions):
            raise InvalidInputError(problems)
        if beyond := c.caller.lacks(permissions):
            # No escalation: a role can hand out only what its author already holds.
            raise ForbiddenError("a role may grant only permissions you hold; you lack "
                                 + ", ".join(beyond))
        if await catalog.name_taken("roles", body.name):
            raise ConflictError(f"a role named {body.name!r} already exists")
        now = c.runtime.clock()
        role = Role(str(uuid.uuid4()), body.name, body.description or "", tuple(permissions),
                    False, now, now)
        await catalog.add_role(role)
        await c.record("create", entity_type="Role", entity_id=role.id, entity_name=role.name,
                       details={"permissions": list(permissions)})
    return json_response(role_json(role))


async def update_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:role:edit")
        body = parse_body(RoleRequest, await request.body())
        catalog = SqlCatalog(c.conn)
        old = await _role(c, request.path_params["id"])
        if old.builtin:
            raise ConflictError(f"the built-in role {old.name!r} cannot be changed")
        permissions = body.permission_list()
        if problems := check_role(body.name, body.description or "", permissions):
            raise InvalidInputError(problems)
        if beyond := c.caller.lacks(permissions):
            # No escalation: a role can hand out only what its author already holds.
            raise ForbiddenError("a role may grant only permissions you hold; you lack "
                                 + ", ".join(beyond))
        if await catalog.name_taken("roles", body.name, except_id=old.id):
            raise ConflictError(f"a role named {body.name!r} already exists")
        role = Role(old.id, body.name, body.description or "", tuple(permissions), False,
                    old.date_created, c.runtime.clock())
        await catalog.update_role(role)
        await c.record("update", entity_type="Role", entity_id=role.id, entity_name=role.name,
                       details={"propertyChanges": _changes(
                           name=(old.name, role.name), description=(old.description,
                                                                    role.description),
                           permissions=(list(old.permissions), list(permissions)))})
    return json_response(role_json(role))


async def delete_role(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require("authorization:role:delete")
        catalog = SqlCatalog(c.conn)
        found = await _role(c, request.path_params["id"])
        if found.builtin:
            raise ConflictError(f"the built-in role {found.name!r} cannot be deleted")
        if await catalog.role_in_use(found.id):
            raise ConflictError("the role is assigned to clients or users; remove it first")
        await catalog.delete_role(found.id)
        await c.record("delete", entity_type="Role", entity_id=found.id, entity_name=found.name)
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
