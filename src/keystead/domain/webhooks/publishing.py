"""Fan-out: each event becomes one outbox message per subscribed endpoint, in the transaction
of the change that caused it (so an event exists exactly when its change committed).

The ordering key is the endpoint and the client: the outbox hands out a key's messages one at a
time, in the order they were queued, so a later event for a client never overtakes an earlier
one that still fails, while other clients' events to the same endpoint carry on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from keystead.domain.audit import AuditEvent, AuditLog, JSONValue
from keystead.domain.clock import Clock
from keystead.domain.governance.notices import Message
from keystead.domain.outbox import Outbox
from keystead.domain.webhooks.endpoints import EndpointStore
from keystead.domain.webhooks.events import Event, audit_event, notice_event

WEBHOOK = "webhook"  # the outbox channel of webhook deliveries


def ordering_key(endpoint_id: str, client_id: str | None) -> str:
    return f"{endpoint_id}:{client_id or '-'}"


def message_payload(*, endpoint_id: str, event_id: str, event_type: str,
                    client_id: str | None, body: dict[str, JSONValue]) -> dict[str, JSONValue]:
    return {"endpointId": endpoint_id, "eventId": event_id, "eventType": event_type,
            "clientId": client_id, "body": body}


@dataclass(slots=True)
class WebhookPublisher:
    endpoints: EndpointStore
    outbox: Outbox
    clock: Clock

    async def publish(self, event: Event) -> int:
        """Queue ``event`` for every enabled endpoint subscribed to it; return how many."""
        subscribers = await self.endpoints.subscribed(event.type)
        if not subscribers:
            return 0
        now = self.clock()
        event_id = f"msg_{uuid.uuid4().hex}"
        body = event.body(now)
        for endpoint_id in subscribers:
            await self.outbox.enqueue(WEBHOOK, message_payload(
                endpoint_id=endpoint_id, event_id=event_id, event_type=event.type,
                client_id=event.client_id, body=body), now=now,
                ordering_key=ordering_key(endpoint_id, event.client_id))
        return len(subscribers)

    async def notice(self, message: Message) -> None:
        """Notifier's hook: every notice is an event of its kind."""
        await self.publish(notice_event(message))


@dataclass(slots=True)
class PublishingAuditLog:
    """An audit log that also publishes client lifecycle events from the entries appended."""

    log: AuditLog
    publisher: WebhookPublisher

    async def append(self, event: AuditEvent) -> None:
        await self.log.append(event)
        if (published := audit_event(event)) is not None:
            await self.publisher.publish(published)
