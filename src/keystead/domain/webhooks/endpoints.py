"""Webhook endpoints, their delivery log, and the ports that store them."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from keystead.domain.audit import JSONValue
from keystead.domain.clients import Actor
from keystead.domain.paging import Page
from keystead.domain.redirect_uris import split_uri

SECRET_PREFIX = "whsec_"  # noqa: S105 - Standard Webhooks: the secret's prefix, not a secret


def new_signing_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, as Standard Webhooks libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    created_at: datetime
    created_by: Actor
    enabled: bool = True
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str = ""


class DeliveryStatus(StrEnum):
    delivered = "delivered"
    failed = "failed"
    skipped = "skipped"  # the endpoint was disabled: not sent (redeliver once it is enabled)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver one event to one endpoint."""

    id: str
    endpoint_id: str
    event_id: str  # the webhook-id header: the same on every attempt and redelivery
    event_type: str
    client_id: str | None
    attempt: int
    status: DeliveryStatus
    status_code: int | None
    latency_ms: int | None
    error: str
    at: datetime
    body: dict[str, JSONValue]  # what was sent (never a secret), for a redelivery


class EndpointStore(Protocol):
    async def add(self, endpoint: WebhookEndpoint, *, sealed_secret: str) -> None: ...
    async def find(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    async def search(self, page: Page) -> tuple[Sequence[WebhookEndpoint], int]: ...
    async def delete(self, endpoint_id: str) -> bool: ...
    async def subscribed(self, event_type: str) -> list[str]:
        """The ids of the endpoints subscribed to ``event_type``, disabled ones included (their
        events are logged as skipped, so they can be recovered)."""
    async def sealed_secret(self, endpoint_id: str) -> str | None: ...


class EndpointHealth(Protocol):
    async def failed(self, endpoint_id: str, *, now: datetime) -> WebhookEndpoint | None:
        """Count one more failure in a row (the streak starts at ``now`` if none runs)."""
    async def succeeded(self, endpoint_id: str) -> None:
        """End the streak of failures."""
    async def set_enabled(self, endpoint_id: str, enabled: bool, *, now: datetime,
                          reason: str = "") -> bool:
        """Enable or disable; False if it already was (so a notice goes out once)."""


class DeliveryLog(Protocol):
    async def record(self, delivery: Delivery) -> None: ...
    async def attempts(self, endpoint_id: str, event_id: str) -> int:
        """How many attempts were made to deliver the event to the endpoint."""
    async def search(self, endpoint_id: str, page: Page) -> tuple[Sequence[Delivery], int]:
        """Newest first, and how many there are in all."""
    async def find(self, delivery_id: str) -> Delivery | None: ...
    async def undelivered(self, endpoint_id: str) -> list[Delivery]:
        """The first logged attempt of each event the endpoint never took, oldest first."""


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint (scheme, host, credentials), or None. Where the host
    points (loopback, private) is the ``AddressGuard``'s to say."""
    if len(url) > 2000:
        return "url must be at most 2000 characters"
    if (parts := split_uri(url)) is None:
        return "url is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "url must be an http or https URL"
    if not parts.hostname:
        return "url must name a host"
    if parts.username or parts.password:
        return "url must not carry credentials"
    if parts.fragment:
        return "url must not have a fragment"
    return None


def shown_url(url: str) -> str:
    """The endpoint's URL as the audit log and notices name it: its query, where receivers often
    carry a key (``?code=``, ``?token=``), is left out; the console and API show the whole URL
    to those who may manage endpoints."""
    parts = urlsplit(url)
    return parts._replace(query="…" if parts.query else "").geturl()


class AddressGuard(Protocol):
    async def refusal(self, url: str) -> str | None:
        """Why Keystead will not send to the host ``url`` names (it resolves to a loopback,
        private, link-local or otherwise internal address), or None."""
