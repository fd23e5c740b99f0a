"""The webhook channel of the outbox: sign and send one event to one endpoint, log the attempt,
and disable an endpoint that has failed for too long (with a notice to the webhook admins).

A failed attempt raises ``DeliveryError``, so the outbox retries it with back-off, and the
message's ordering key holds back that client's later events meanwhile.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.clients import Actor
from keystead.domain.clock import Clock
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.outbox import MAX_ERROR_CHARS, DeliveryError
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secrets import SecretBox
from keystead.domain.webhooks.endpoints import (
    AddressGuard,
    Delivery,
    DeliveryLog,
    DeliveryStatus,
    EndpointHealth,
    EndpointStore,
    WebhookEndpoint,
    shown_url,
)

ENTITY = "WebhookEndpoint"
# Who disables an endpoint that keeps failing (audited under this name).
DISPATCHER = Caller(Actor("system", "webhooks", "webhook delivery"), frozenset(),
                    frozenset({Permission.GOVERNANCE_WEBHOOK_EDIT}))


@dataclass(frozen=True, slots=True)
class Sent:
    status_code: int | None  # None: no answer (refused, timed out)
    error: str = ""

    @property
    def is_ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookTransport(Protocol):
    async def send(self, url: str, *, secret: str, event_id: str, body: str) -> Sent:
        """POST ``body`` signed per Standard Webhooks; never raises for the endpoint's faults."""


@dataclass(frozen=True, slots=True)
class WebhookUnit:
    """What one short transaction of the channel works with."""

    endpoints: EndpointStore
    health: EndpointHealth
    log: DeliveryLog
    notifier: Notifier
    auditor: Auditor


@dataclass(frozen=True, slots=True)
class DisablePolicy:
    """Disable after ``failures`` failed attempts in a row spanning at least ``period``."""

    failures: int
    period: timedelta


@dataclass(slots=True)
class WebhookDispatch:
    unit: Callable[[], AbstractAsyncContextManager[WebhookUnit]]
    transport: WebhookTransport
    guard: AddressGuard
    box: SecretBox
    clock: Clock
    policy: DisablePolicy

    async def deliver(self, payload: Mapping[str, JSONValue]) -> None:
        """Raises: DeliveryError when the endpoint did not take it (retried later)."""
        endpoint_id, event_id = str(payload["endpointId"]), str(payload["eventId"])
        body = payload["body"]
        client_id = payload.get("clientId")
        async with self.unit() as unit:
            endpoint = await unit.endpoints.find(endpoint_id)
            sealed = await unit.endpoints.sealed_secret(endpoint_id)
            attempt = await unit.log.attempts(endpoint_id, event_id) + 1
        if endpoint is None or sealed is None:
            return  # the endpoint was deleted: nothing is owed to it any more
        secret = self.box.open(sealed)
        delivery = Delivery(
            id=str(uuid.uuid4()), endpoint_id=endpoint_id, event_id=event_id,
            event_type=str(payload["eventType"]),
            client_id=str(client_id) if client_id is not None else None, attempt=attempt,
            status=DeliveryStatus.skipped, status_code=None, latency_ms=None, error="",
            at=self.clock(), body=body if isinstance(body, dict) else {})
        if not endpoint.enabled:
            async with self.unit() as unit:
                await unit.log.record(replace(delivery, error="endpoint disabled"))
            return
        if secret is None:
            raise DeliveryError(f"endpoint {endpoint_id}: signing secret not under any ring key")
        sent = await self._send(endpoint, secret, event_id, delivery)
        async with self.unit() as unit:
            await unit.log.record(sent)
            if sent.status is DeliveryStatus.delivered:
                await unit.health.succeeded(endpoint_id)
                return
            await self._failed(unit, endpoint_id)
        raise DeliveryError(f"endpoint {endpoint_id}: {sent.error}")

    async def _send(self, endpoint: WebhookEndpoint, secret: str, event_id: str,
                    delivery: Delivery) -> Delivery:
        if refusal := await self.guard.refusal(endpoint.url):
            return replace(delivery, status=DeliveryStatus.failed, error=refusal)
        started = time.monotonic()
        sent = await self.transport.send(endpoint.url, secret=secret, event_id=event_id,
                                         body=_json(delivery.body))
        latency = int((time.monotonic() - started) * 1000)
        if sent.is_ok:
            return replace(delivery, status=DeliveryStatus.delivered,
                         status_code=sent.status_code, latency_ms=latency)
        error = sent.error or f"answered HTTP {sent.status_code}"
        return replace(delivery, status=DeliveryStatus.failed, status_code=sent.status_code,
                     latency_ms=latency, error=error[:MAX_ERROR_CHARS])

    async def _failed(self, unit: WebhookUnit, endpoint_id: str) -> None:
        now = self.clock()
        streak = await unit.health.failed(endpoint_id, now=now)
        if (streak is None or streak.failing_since is None
                or streak.consecutive_failures < self.policy.failures
                or now - streak.failing_since < self.policy.period):
            return
        reason = (f"{streak.consecutive_failures} failed deliveries in a row since "
                  f"{streak.failing_since:%Y-%m-%d %H:%M} UTC")
        if not await unit.health.set_enabled(endpoint_id, False, now=now, reason=reason):
            return
        url = shown_url(streak.url)
        await unit.auditor.record(DISPATCHER, "disable", Entity(ENTITY, endpoint_id, url),
                                  {"reason": reason})
        recipients = await unit.notifier.recipients(holders_of=Permission.GOVERNANCE_WEBHOOK_EDIT)
        await unit.notifier.notify(recipients, Message(
            NoticeKind.webhook_disabled, f"Webhook endpoint {url} disabled",
            f"The webhook endpoint {url} ({endpoint_id}) was disabled: {reason}. "
            "Its events are logged as skipped, not sent; enable it again once it answers, and "
            "recover what it missed (POST /api/v2/governance/webhooks/{id}/recover)."))


def _json(body: Mapping[str, JSONValue]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
