"""/api/v2/oauth/scopes: the scope catalogue (built-ins plus the organisation's own)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import ConflictError, InvalidInputError, NotFoundError
from keystead.domain.organization import Scope, check_description, check_scope
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.presenters import scope_json
from keystead.web.schemas import ScopeRequest, parse_body

BASE = "/api/v2/oauth/scopes"


async def list_scopes(request: Request) -> Response:
    async with call(request, scope="oauth:readonly") as c:
        c.caller.require("oauth:scope:view")
        found = await SqlCatalog(c.conn).scopes()
    return json_response({"total": len(found), "entities": [scope_json(s) for s in found],
                          "selfUri": BASE})


async def get_scope(request: Request) -> Response:
    async with call(request, scope="oauth:readonly") as c:
        c.caller.require("oauth:scope:view")
        found = await SqlCatalog(c.conn).scope(request.path_params["id"])
    if found is None:
        raise NotFoundError(f"no scope {request.path_params['id']!r}")
    return json_response(scope_json(found))


async def create_scope(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        c.caller.require("oauth:scope:add")
        body = parse_body(ScopeRequest, await request.body())
        if problems := check_scope(body.id, body.description or ""):
            raise InvalidInputError(problems)
        catalog = SqlCatalog(c.conn)
        if await catalog.scope(body.id) is not None:
            raise ConflictError(f"the scope {body.id!r} already exists")
        scope = Scope(body.id, body.description or "", False)
        await catalog.add_scope(scope)
        await c.record("create", entity_type="OAuthScope", entity_id=scope.id,
                       entity_name=scope.id, details={"description": scope.description})
    return json_response(scope_json(scope))


async def update_scope(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        c.caller.require("oauth:scope:edit")
        body = parse_body(ScopeRequest, await request.body())
        scope_id = request.path_params["id"]
        if body.id != scope_id:
            raise InvalidInputError.one("id", "immutable", "a scope's id cannot be changed")
        if problems := check_description(body.description or ""):
            raise InvalidInputError(problems)
        catalog = SqlCatalog(c.conn)
        old = await catalog.scope(scope_id)
        if old is None:
            raise NotFoundError(f"no scope {scope_id!r}")
        await catalog.update_scope(scope_id, description=body.description or "")
        await c.record("update", entity_type="OAuthScope", entity_id=scope_id,
                       entity_name=scope_id, details={"propertyChanges": {"description": {
                           "old": old.description, "new": body.description or ""}}})
    return json_response(scope_json(Scope(scope_id, body.description or "", old.builtin)))


async def delete_scope(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        c.caller.require("oauth:scope:delete")
        scope_id = request.path_params["id"]
        catalog = SqlCatalog(c.conn)
        found = await catalog.scope(scope_id)
        if found is None:
            raise NotFoundError(f"no scope {scope_id!r}")
        if found.builtin:
            raise ConflictError(f"the built-in scope {scope_id!r} cannot be deleted")
        if holders := await SqlClientStore(c.conn).count_holding_scope(scope_id):
            raise ConflictError(f"the scope is held by {holders} client(s); "
                                "remove it from them first")
        await catalog.delete_scope(scope_id)
        await c.record("delete", entity_type="OAuthScope", entity_id=scope_id,
                       entity_name=scope_id)
    return Response(status_code=204)


routes = [
    Route(BASE, list_scopes, methods=["GET"]),
    Route(BASE, create_scope, methods=["POST"]),
    Route(BASE + "/{id:path}", get_scope, methods=["GET"]),
    Route(BASE + "/{id:path}", update_scope, methods=["PUT"]),
    Route(BASE + "/{id:path}", delete_scope, methods=["DELETE"]),
]
