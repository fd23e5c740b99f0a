"""Webhook endpoints as admins manage them: create (the signing secret shown once), list,
delete, enable again, read the delivery log, redeliver. Every change is audited, never with
the secret."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from keystead.domain.audit import Auditor, Entity
from keystead.domain.clock import Clock
from keystead.domain.errors import InvalidInputError, NotFoundError, Problem, require_found
from keystead.domain.outbox import Outbox
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secrets import SecretBox
from keystead.domain.webhooks.dispatch import ENTITY
from keystead.domain.webhooks.endpoints import (
    AddressGuard,
    Delivery,
    DeliveryLog,
    EndpointHealth,
    EndpointStore,
    WebhookEndpoint,
    new_signing_secret,
    shown_url,
    url_problem,
)
from keystead.domain.webhooks.events import EVENTS
from keystead.domain.webhooks.publishing import WEBHOOK, message_payload, ordering_key

MAX_DESCRIPTION = 500


@dataclass(frozen=True, slots=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the create response


def _entity(endpoint: WebhookEndpoint) -> Entity:
    return Entity(ENTITY, endpoint.id, shown_url(endpoint.url))


@dataclass(slots=True)
class WebhookManagement:
    endpoints: EndpointStore
    health: EndpointHealth
    log: DeliveryLog
    outbox: Outbox
    guard: AddressGuard
    box: SecretBox
    auditor: Auditor
    clock: Clock

    async def create(self, caller: Caller, *, url: str, event_types: Sequence[str],
                     description: str = "") -> Created:
        """Raises: ForbiddenError; InvalidInputError naming each bad field."""
        caller.require(Permission.GOVERNANCE_WEBHOOK_ADD)
        problems: list[Problem] = []
        if reason := url_problem(url) or await self.guard.refusal(url):
            problems.append(Problem("url", "invalid.url", reason))
        unknown = sorted(set(event_types) - set(EVENTS))
        if not event_types:
            problems.append(Problem("eventTypes", "required",
                                    "eventTypes must name at least one event type"))
        elif unknown:
            problems.append(Problem(
                "eventTypes", "invalid.value", f"unknown event type(s) {', '.join(unknown)}; "
                f"see /api/v2/governance/webhooks/eventtypes"))
        if len(description) > MAX_DESCRIPTION:
            problems.append(Problem("description", "too.long",
                                    f"description must be at most {MAX_DESCRIPTION} characters"))
        if problems:
            raise InvalidInputError(problems)
        secret = new_signing_secret()
        endpoint = WebhookEndpoint(
            id=str(uuid.uuid4()), url=url, event_types=tuple(sorted(set(event_types))),
            description=description, created_at=self.clock(), created_by=caller.actor)
        await self.endpoints.add(endpoint, sealed_secret=self.box.seal(secret))
        await self.auditor.record(caller, "create", _entity(endpoint), {
            "eventTypes": list(endpoint.event_types)})
        return Created(endpoint, secret)

    async def list(self, caller: Caller, page: Page) -> tuple[Sequence[WebhookEndpoint], int]:
        caller.require(Permission.GOVERNANCE_WEBHOOK_VIEW)
        return await self.endpoints.search(page)

    async def find(self, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
        """Raises: ForbiddenError; NotFoundError."""
        caller.require(Permission.GOVERNANCE_WEBHOOK_VIEW)
        return require_found(await self.endpoints.find(endpoint_id),
                             f"no webhook endpoint with id {endpoint_id}")

    async def delete(self, caller: Caller, endpoint_id: str) -> None:
        """Its queued events are dropped (the channel finds no endpoint); its log goes too."""
        caller.require(Permission.GOVERNANCE_WEBHOOK_DELETE)
        endpoint = await self.find(caller, endpoint_id)
        await self.endpoints.delete(endpoint_id)
        await self.auditor.record(caller, "delete", _entity(endpoint), {})

    async def enable(self, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
        """Enable a disabled endpoint again (its failure streak starts over)."""
        caller.require(Permission.GOVERNANCE_WEBHOOK_EDIT)
        endpoint = await self.find(caller, endpoint_id)
        if await self.health.set_enabled(endpoint_id, True, now=self.clock()):
            await self.auditor.record(caller, "enable", _entity(endpoint), {})
        return await self.find(caller, endpoint_id)

    async def deliveries(self, caller: Caller, endpoint_id: str, page: Page
                         ) -> tuple[Sequence[Delivery], int]:
        await self.find(caller, endpoint_id)
        return await self.log.search(endpoint_id, page)

    async def redeliver(self, caller: Caller, endpoint_id: str, delivery_id: str) -> str:
        """Queue the delivery's event again (same webhook-id, so receivers can tell it is
        the same event); return the outbox message's id. Outside the client's ordering.

        Raises: ForbiddenError; NotFoundError; InvalidInputError when the endpoint is disabled.
        """
        caller.require(Permission.GOVERNANCE_WEBHOOK_EDIT)
        endpoint = await self.find(caller, endpoint_id)
        delivery = await self.log.find(delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint_id:
            raise NotFoundError(f"no delivery {delivery_id} for webhook endpoint {endpoint_id}")
        if not endpoint.enabled:
            raise InvalidInputError.one("endpoint", "disabled",
                                        "the endpoint is disabled: enable it first")
        message_id = await self.outbox.enqueue(WEBHOOK, message_payload(
            endpoint_id=endpoint_id, event_id=delivery.event_id,
            event_type=delivery.event_type, client_id=delivery.client_id,
            body=delivery.body), now=self.clock())
        await self.auditor.record(caller, "redeliver", _entity(endpoint), {
            "eventId": delivery.event_id, "eventType": delivery.event_type})
        return message_id

    async def recover(self, caller: Caller, endpoint_id: str) -> int:
        """Queue again every logged event the endpoint never took (failed, or skipped while it
        was disabled), oldest first and in each client's order; return how many.

        Raises: ForbiddenError; NotFoundError; InvalidInputError when the endpoint is disabled.
        """
        caller.require(Permission.GOVERNANCE_WEBHOOK_EDIT)
        endpoint = await self.find(caller, endpoint_id)
        if not endpoint.enabled:
            raise InvalidInputError.one("endpoint", "disabled",
                                        "the endpoint is disabled: enable it first")
        missed = await self.log.undelivered(endpoint_id)
        now = self.clock()
        for delivery in missed:
            await self.outbox.enqueue(WEBHOOK, message_payload(
                endpoint_id=endpoint_id, event_id=delivery.event_id,
                event_type=delivery.event_type, client_id=delivery.client_id,
                body=delivery.body), now=now,
                ordering_key=ordering_key(endpoint_id, delivery.client_id))
        await self.auditor.record(caller, "recover", _entity(endpoint), {"events": len(missed)})
        return len(missed)
