"""/api/v2/users/{userId}/identityproviders: which identity providers may assert a user.

A Keystead extension in the Genesys style (Genesys has no such resource). A SAML2 bearer
assertion names a user only through one of these links, keyed by (provider, NameID):

    GET    /api/v2/users/{userId}/identityproviders               the user's links (a listing)
    PUT    /api/v2/users/{userId}/identityproviders/{providerId}  {"nameId": "..."}: link or
                                                                   change the NameID
    DELETE /api/v2/users/{userId}/identityproviders/{providerId}  unlink (204)

Reading needs ``directory:user:view`` (or being the user) and the ``users:readonly`` scope;
changing needs ``directory:user:edit``, every permission the user holds, and the ``users``
scope; nobody links their own account. Every change is audited on the user.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.identity_links import IdentityLink
from keystead.domain.identity_providers import IdentityProvider
from keystead.domain.permissions import Permission
from keystead.web.api.common import call
from keystead.web.api.identity_providers import GENERIC
from keystead.web.errors import json_response
from keystead.web.presenters import iso, listing
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/users/{user_id}/identityproviders"
ONE = BASE + "/{provider_id}"


class IdentityLinkRequest(BaseModel):
    """The NameID the provider sends for the user, exactly (no trimming, no case folding)."""

    model_config = ConfigDict(extra="forbid")
    nameId: str  # noqa: N815 - wire name


def link_json(link: IdentityLink, provider: IdentityProvider) -> dict[str, Any]:
    return {
        "identityProvider": {"id": provider.id, "name": provider.settings.name,
                             "selfUri": f"{GENERIC}/{provider.id}"},
        "nameId": link.name_id,
        "dateCreated": iso(link.date_created),
        "selfUri": f"/api/v2/users/{link.user_id}/identityproviders/{provider.id}",
    }


async def list_links(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    async with call(request, scope="users:readonly") as c:
        found = await c.runtime.identity_links(c.conn).links_of(c.caller, user_id)
    return json_response(listing(found, lambda pair: link_json(*pair), total=len(found),
                                 page_number=1, page_size=max(len(found), 1),
                                 uri=BASE.format(user_id=user_id)))


async def put_link(request: Request) -> Response:
    async with call(request, scope="users") as c:
        c.caller.require(Permission.DIRECTORY_USER_EDIT)  # before the body is read
        body = parse_body(IdentityLinkRequest, await request.body())
        link, provider = await c.runtime.identity_links(c.conn).link(
            c.caller, request.path_params["user_id"], request.path_params["provider_id"],
            body.nameId)
    return json_response(link_json(link, provider))


async def delete_link(request: Request) -> Response:
    async with call(request, scope="users") as c:
        await c.runtime.identity_links(c.conn).unlink(
            c.caller, request.path_params["user_id"], request.path_params["provider_id"])
    return Response(status_code=204)


routes = [
    route_at(BASE, get=list_links),
    route_at(ONE, put=put_link, delete=delete_link),
]
