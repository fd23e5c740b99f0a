"""/api/v2/oauth/authorizations: the clients the calling user has authorized (Genesys
``OAuthAuthorization``), and DELETE, Keystead's extension, to take one back.

These endpoints are about the caller's own consents, so they need a user's token (one issued
through the authorization code grant, naming the user as its subject) and no scope beyond it: a
user may always see and revoke what they authorized themselves, through any app they use. A
client-credentials token has no user and gets 400, as Genesys answers. Every query is keyed by
the token's user, so another user's authorizations are never visible nor revocable: a client
this user did not authorize is 404, whoever else did.

Revoking forgets the consent (the app must ask again) and revokes every grant family of the
pair, which stops each of its access and refresh tokens at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.authorizations import Authorization
from keystead.domain.clients import Actor
from keystead.domain.connected_apps import NOT_AUTHORIZED
from keystead.domain.errors import NotFoundError
from keystead.domain.users import User
from keystead.protocol.errors import InvalidTokenError
from keystead.request_context import note_client
from keystead.web.api.common import Call, listed, one_page, paging, record_denial
from keystead.web.api.users import NotAUserError
from keystead.web.auth import client_ip, management_token
from keystead.web.errors import json_response
from keystead.web.presenters import iso
from keystead.web.routing import route_at
from keystead.web.runtime import Runtime

BASE = "/api/v2/oauth/authorizations"


@asynccontextmanager
async def as_user(request: Request) -> AsyncIterator[tuple[Call, User]]:
    """The token's user (who must be active) and the request's transaction.

    Like ``common.call`` but without a scope: every refused token (401) is audited.

    Raises:
        InvalidTokenError: no valid token, or its user is gone or not active.
        NotAUserError: a token without a user (client credentials).
    """
    runtime: Runtime = request.app.state.runtime
    actor = Actor("anonymous", "", "")
    try:
        token = await management_token(request, runtime)
        actor = Actor("client", token.client_id, "")
        note_client(token.client_id)
        subject = token.record.subject_id
        if subject is None:
            # Genesys's answer to a client-credentials token here, word for word.
            raise NotAUserError("This request requires a user context. Client credentials "
                                "cannot be used for requests to this resource.")
        async with runtime.transaction() as conn:
            callers = runtime.callers(conn)
            user = await callers.active_user(subject)
            if user is None:
                raise InvalidTokenError("the access token's user is not active")
            yield Call(runtime, conn, await callers.of_user(user, client_ip(request))), user
    except InvalidTokenError as exc:
        await record_denial(runtime, request, actor, exc)
        raise


def authorization_json(authorization: Authorization, owner: User) -> dict[str, Any]:
    """The Genesys ``OAuthAuthorization`` shape; the consent's time is when it was created."""
    person = {"id": owner.id, "name": owner.name, "selfUri": f"/api/v2/users/{owner.id}"}
    return {
        "client": {"id": authorization.client_id, "name": authorization.client_name,
                   "selfUri": f"/api/v2/oauth/clients/{authorization.client_id}"},
        "scope": list(authorization.scopes),
        "resourceOwner": person,
        "dateCreated": iso(authorization.granted_at),
        "createdBy": person,
        "pending": False,
        "state": "Authorized",  # a revoked authorization is gone, never listed
        "selfUri": f"{BASE}/{authorization.client_id}",
    }


def _client_id(request: Request) -> str:
    """Raises: NotFoundError for an id holding NUL (none does; PostgreSQL text cannot)."""
    value = str(request.path_params["clientId"])
    if "\x00" in value:
        raise NotFoundError(NOT_AUTHORIZED)
    return value


async def list_authorizations(request: Request) -> Response:
    async with as_user(request) as (c, user):
        page = paging(request)
        found = await c.runtime.connected_apps(c.conn).list(c.caller)
    return listed(one_page(found, page), lambda a: authorization_json(a, user),
                  total=len(found), page=page, uri=BASE)


async def get_authorization(request: Request) -> Response:
    async with as_user(request) as (c, user):
        found = await c.runtime.connected_apps(c.conn).find(c.caller, _client_id(request))
    return json_response(authorization_json(found, user))


async def delete_authorization(request: Request) -> Response:
    async with as_user(request) as (c, _user):
        await c.runtime.connected_apps(c.conn).revoke(c.caller, _client_id(request))
    return Response(status_code=204)


routes = [
    route_at(BASE, get=list_authorizations),
    route_at(BASE + "/{clientId}", get=get_authorization, delete=delete_authorization),
]
