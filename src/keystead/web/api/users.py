"""/api/v2/users: the Genesys users API over UserManagement, so every change is ruled and audited.

Permissions are checked before a body is read, as everywhere on the API: a caller who may not
make the change learns nothing of the input rules (and gets 403 whatever it sent).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import DomainError, InvalidInputError
from keystead.domain.permissions import Permission
from keystead.web.api.common import (
    call,
    entity_handler,
    paging,
    permitted_body,
    removal_handler,
)
from keystead.web.errors import json_response
from keystead.web.presenters import keep_filters, listing, user_json
from keystead.web.routing import route_at
from keystead.web.schemas import UserCreate, UserUpdate, parse_body

BASE = "/api/v2/users"
MAX_QUERY = 320  # the longest e-mail; a longer query can match nothing


class NotAUserError(DomainError):
    """A request about "me" made with a token that has no user (client credentials)."""

    code = "not.a.user"


async def list_users(request: Request) -> Response:
    async with call(request, scope="users:readonly") as c:
        c.caller.require(Permission.DIRECTORY_USER_VIEW)  # before the parameters are read
        page = paging(request)
        query = request.query_params.get("q", "").strip() or None
        if query is not None and len(query) > MAX_QUERY:
            raise InvalidInputError.one("q", "out.of.range",
                                        f"q must be at most {MAX_QUERY} characters")
        found, total = await c.runtime.users(c.conn).search(c.caller, query, page)
    return json_response(keep_filters(
        listing(found, user_json, total=total, page_number=page.number, page_size=page.size,
                uri=BASE),
        q=query))


async def create_user(request: Request) -> Response:
    async with call(request, scope="users") as c:
        body = await permitted_body(c, request, Permission.DIRECTORY_USER_ADD, UserCreate)
        user = await c.runtime.users(c.conn).create(c.caller, name=body.name, email=body.email,
                                                    password=body.password,
                                                    external_id=body.externalId)
    return json_response(user_json(user))


async def get_me(request: Request) -> Response:
    async with call(request, scope="users:readonly") as c:
        if c.caller.actor.kind != "user":
            # As Genesys answers a client-credentials token here (its wording and code).
            raise NotAUserError("This request requires a user context. Client credentials "
                                "cannot be used for requests to this resource.")
        user = await c.runtime.users(c.conn).find(c.caller, c.caller.actor.id)
    return json_response(user_json(user))


get_user = entity_handler("users:readonly", lambda c: c.runtime.users(c.conn).find, user_json)


async def update_user(request: Request) -> Response:
    async with call(request, scope="users") as c:
        users = c.runtime.users(c.conn)
        # Permission and existence before the body (403, then 404, then 400).
        current = await users.find(c.caller, request.path_params["id"],
                                   permission=Permission.DIRECTORY_USER_EDIT)
        body = parse_body(UserUpdate, await request.body())
        updated = await users.update(
            c.caller, current.id,
            name=current.name if body.name is None else body.name,
            email=current.email if body.email is None else body.email,
            state=current.state if body.state is None else str(body.state),
            password=body.password,
            external_id=body.externalId, current_password=body.currentPassword)
    return json_response(user_json(updated))


delete_user = removal_handler("users", lambda c: c.runtime.users(c.conn).delete)
# The user enrols two-step verification again at their next sign-in (a lost phone).
reset_mfa = entity_handler("users", lambda c: c.runtime.users(c.conn).reset_mfa, user_json)


routes = [
    route_at(BASE, get=list_users, post=create_user),
    route_at(BASE + "/me", get=get_me),  # before /{id}, which would take "me"
    route_at(BASE + "/{id}", get=get_user, patch=update_user, delete=delete_user),
    route_at(BASE + "/{id}/mfa/reset", post=reset_mfa),
]
