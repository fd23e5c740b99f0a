"""/api/v2/oauth/clients: the Genesys OAuth client API, plus Keystead's extensions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import (
    Client,
    ClientFilter,
    ClientSettings,
    ClientState,
    Environment,
    GrantType,
)
from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.domain.secret_delivery import DeliveryFailedError
from keystead.web import delivery_runs
from keystead.web.api.common import call, listed, paging, query_choice
from keystead.web.api.governance.deletion_requests import BASE as REQUESTS_BASE
from keystead.web.api.governance.deletion_requests import deletion_request_json
from keystead.web.errors import NO_STORE, json_response
from keystead.web.presenters import client_json, iso
from keystead.web.routing import route_at
from keystead.web.runtime import Runtime
from keystead.web.schemas import (
    KEPT_WHEN_ABSENT,
    READ_ONLY_CLIENT_FIELDS,
    ClientRequest,
    SecretRequest,
    parse_body,
)

BASE = "/api/v2/oauth/clients"


async def present(manage: ClientManagement, client: Client, *, secret: str | None = None
                  ) -> dict[str, Any]:
    """The client as JSON with its owner's name and the orphaned flag."""
    return client_json(client, secret=secret, owners=await manage.owners_of([client]))


async def list_clients(request: Request) -> Response:
    """Filters: name, state, grantType, and the governance ones: ``owner`` (``me`` or a user
    id), ``tag``, ``environment``. ``owner=me`` needs no ``oauth:client:view``."""
    async with call(request, scope="oauth:readonly") as c:
        page = paging(request)
        params = request.query_params
        environment = query_choice(request, "environment", Environment, message=(
            "environment must be one of: production, staging, development"))
        owner = params.get("owner")
        mine = owner == "me" or (owner is not None and owner == c.caller.actor.id)
        state = query_choice(request, "state", ClientState)
        grant = query_choice(request, "grantType", lambda value: GrantType(value.upper()))
        manage = c.runtime.management(c.conn)
        found, total = await manage.search(
            c.caller, ClientFilter(name=params.get("name"), state=state, grant_type=grant,
                                   owner_id=None if mine else owner, tag=params.get("tag"),
                                   environment=environment),
            page, mine=mine)
        owners = await manage.owners_of(found)
    return listed(found, lambda client: client_json(client, owners=owners), total=total,
                  page=page, uri=BASE)


async def create_client(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        body = parse_body(ClientRequest, await request.body())
        manage = c.runtime.management(c.conn)
        issued = await manage.create(c.caller, body.to_settings())
        shown = await present(manage, issued.client, secret=issued.secret)
    return json_response(shown, headers=NO_STORE)


async def get_client(request: Request) -> Response:
    async with call(request, scope="oauth:readonly") as c:
        manage = c.runtime.management(c.conn)
        client = await manage.find(c.caller, request.path_params["id"])
        delivery = await c.runtime.secret_delivery(c.conn).pending(client.id)
        body = await present(manage, client)
    if delivery is not None and delivery.next_rotation_at is not None:
        # Keystead's extension: when the secret is next rotated into its destination.
        body["nextSecretRotationDate"] = iso(delivery.next_rotation_at)
    return json_response(body)


async def update_client(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        body = parse_body(ClientRequest, await request.body(), ignore=READ_ONLY_CLIENT_FIELDS)
        manage = c.runtime.management(c.conn)
        settings = body.to_settings()
        absent = KEPT_WHEN_ABSENT - body.model_fields_set
        if body.clientType is not None or body.tokenEndpointAuthMethod is None or absent:
            existing = await manage.find(c.caller, request.path_params["id"],
                                         permission=Permission.OAUTH_CLIENT_EDIT)
            if body.clientType is not None and body.clientType is not (
                    existing.settings.client_type):
                raise InvalidInputError.one("clientType", "immutable",
                                            "clientType is fixed when a client is created")
            if body.tokenEndpointAuthMethod is None:
                # A PUT from a tool that does not know the extension (the Genesys SDK) keeps
                # the method: resetting it would lock a client_secret_post client out.
                settings = replace(settings, token_endpoint_auth_method=(
                    existing.settings.token_endpoint_auth_method))
            settings = _keep_absent_extensions(settings, existing.settings, absent)
        client = await manage.update(c.caller, request.path_params["id"], settings)
        shown = await present(manage, client)
    return json_response(shown)


def _keep_absent_extensions(settings: ClientSettings, existing: ClientSettings,
                            absent: frozenset[str]) -> ClientSettings:
    """A PUT from a tool that does not know the governance extensions keeps them."""
    kept: dict[str, Any] = {}
    if "owner" in absent:
        kept["owner_id"] = existing.owner_id
    if "ownerContact" in absent:
        kept["owner_contact"] = existing.owner_contact
    if "tags" in absent:
        kept["tags"] = existing.tags
    if "environment" in absent:
        kept["environment"] = existing.environment
    return replace(settings, **kept)


async def delete_client(request: Request) -> Response:
    """204 once deleted; with the policy's deletionApproval on, 202 and the pending request
    (the client stays until a second admin approves)."""
    async with call(request, scope="oauth") as c:
        pending = await c.runtime.client_deletion(c.conn).delete(
            c.caller, request.path_params["id"])
    if pending is None:
        return Response(status_code=204)
    return json_response(deletion_request_json(pending), 202, headers={
        "Location": f"{REQUESTS_BASE}/{pending.id}"})


async def regenerate_secret(request: Request) -> Response:
    """A new secret, shown once in the response; with ``{"deliver": true}`` written to the
    client's destination instead (and verified) and shown to no one."""
    client_id = request.path_params["id"]
    runtime: Runtime = request.app.state.runtime
    caller, staged = None, None
    try:
        async with call(request, scope="oauth") as c:
            caller = c.caller
            body = parse_body(SecretRequest, await request.body(), allow_null=True)
            window = (c.runtime.settings.default_dual_use_seconds if body.dualUseSeconds is None
                      else body.dualUseSeconds)
            if body.deliver:  # staged here, delivered once committed (domain/secret_rotation)
                staged = await c.runtime.secret_delivery(c.conn).stage(
                    c.caller, client_id, dual_use_seconds=window)
            else:
                manage = c.runtime.management(c.conn)
                issued = await manage.regenerate_secret(c.caller, client_id,
                                                        dual_use_seconds=window)
                shown = await present(manage, issued.client, secret=issued.secret)
    except DeliveryFailedError as exc:  # rolled back: the client keeps its secret
        if caller is not None:
            await delivery_runs.record_failure(runtime, caller, client_id, exc)
        raise
    if caller is not None and staged is not None:
        delivered = await delivery_runs.complete(runtime, caller, staged)
        async with runtime.transaction() as conn:
            shown = await present(runtime.management(conn), delivered)
    return json_response(shown, headers=NO_STORE)


async def expire_previous_secret(request: Request) -> Response:
    async with call(request, scope="oauth") as c:
        manage = c.runtime.management(c.conn)
        client = await manage.expire_previous_secret(c.caller, request.path_params["id"])
        shown = await present(manage, client)
    return json_response(shown)


routes = [
    route_at(BASE, get=list_clients, post=create_client),
    route_at(BASE + "/{id}", get=get_client, put=update_client, delete=delete_client),
    route_at(BASE + "/{id}/secret", post=regenerate_secret),
    route_at(BASE + "/{id}/secret/expire-previous", post=expire_previous_secret),
]
