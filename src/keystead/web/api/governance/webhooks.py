"""/api/v2/governance/webhooks: webhook endpoints (Standard Webhooks), their delivery log and
redelivery, and the event types they can subscribe to."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.webhooks.endpoints import Delivery, WebhookEndpoint
from keystead.domain.webhooks.events import EVENTS
from keystead.web.api.common import (
    call,
    entity_handler,
    listed,
    listing_handler,
    paging,
    removal_handler,
)
from keystead.web.errors import json_response
from keystead.web.presenters import actor_ref, iso
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/governance/webhooks"
READ, WRITE = "governance:readonly", "governance"


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=4000)
    eventTypes: list[str] = Field(max_length=100)  # noqa: N815 - the wire name
    description: str = ""


def endpoint_json(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id, "url": endpoint.url, "eventTypes": list(endpoint.event_types),
        "description": endpoint.description, "enabled": endpoint.enabled,
        "consecutiveFailures": endpoint.consecutive_failures,
        "failingSince": iso(endpoint.failing_since), "dateDisabled": iso(endpoint.disabled_at),
        "disabledReason": endpoint.disabled_reason or None,
        "dateCreated": iso(endpoint.created_at), "createdBy": actor_ref(endpoint.created_by),
        "selfUri": f"{BASE}/{endpoint.id}"}
    if secret is not None:
        body["secret"] = secret  # once, in the create response
    return body


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "eventId": delivery.event_id, "eventType": delivery.event_type,
            "clientId": delivery.client_id, "attempt": delivery.attempt,
            "status": str(delivery.status), "statusCode": delivery.status_code,
            "latencyMs": delivery.latency_ms, "error": delivery.error or None,
            "date": iso(delivery.at)}


list_endpoints = listing_handler(
    READ, lambda c, _request, page: c.runtime.webhooks(c.conn).list(c.caller, page), endpoint_json,
    uri=BASE)


async def create_endpoint(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        body = parse_body(WebhookCreate, await request.body())
        created = await c.runtime.webhooks(c.conn).create(
            c.caller, url=body.url, event_types=body.eventTypes, description=body.description)
    return json_response(endpoint_json(created.endpoint, secret=created.secret), status=201,
                         headers={"Cache-Control": "no-store"})


async def event_types(request: Request) -> Response:
    async with call(request, scope=READ):
        entities = [{"id": name, "summary": spec.summary, "fields": dict(spec.fields)}
                    for name, spec in EVENTS.items()]
    return json_response({"entities": entities, "total": len(entities)})


get_endpoint = entity_handler(READ, lambda c: c.runtime.webhooks(c.conn).find, endpoint_json)
delete_endpoint = removal_handler(WRITE, lambda c: c.runtime.webhooks(c.conn).delete)
enable_endpoint = entity_handler(WRITE, lambda c: c.runtime.webhooks(c.conn).enable,
                                 endpoint_json)


async def list_deliveries(request: Request) -> Response:
    endpoint_id = request.path_params["id"]
    async with call(request, scope=READ) as c:
        page = paging(request)
        found, total = await c.runtime.webhooks(c.conn).deliveries(c.caller, endpoint_id, page)
    return listed(found, delivery_json, total=total, page=page,
                  uri=f"{BASE}/{endpoint_id}/deliveries")


async def redeliver(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        message_id = await c.runtime.webhooks(c.conn).redeliver(
            c.caller, request.path_params["id"], request.path_params["delivery_id"])
    return json_response({"messageId": message_id}, status=202)


async def recover(request: Request) -> Response:
    async with call(request, scope=WRITE) as c:
        queued = await c.runtime.webhooks(c.conn).recover(c.caller, request.path_params["id"])
    return json_response({"queued": queued}, status=202)


routes = [
    route_at(BASE, get=list_endpoints, post=create_endpoint),
    route_at(BASE + "/eventtypes", get=event_types),
    route_at(BASE + "/{id}", get=get_endpoint, delete=delete_endpoint),
    route_at(BASE + "/{id}/enable", post=enable_endpoint),
    route_at(BASE + "/{id}/recover", post=recover),
    route_at(BASE + "/{id}/deliveries", get=list_deliveries),
    route_at(BASE + "/{id}/deliveries/{delivery_id}/redeliver", post=redeliver),
]
