"""Webhooks over HTTP: sign with the ``standardwebhooks`` library and POST with httpx; and the
address guard that keeps endpoints off loopback and private networks (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from keystead.domain.webhooks.dispatch import Sent


@dataclass(frozen=True, slots=True)
class HttpWebhookTransport:
    timeout_seconds: float = 5.0

    async def send(self, url: str, *, secret: str, event_id: str, body: str) -> Sent:
        # The wall clock, not the injected one: webhook-timestamp is for the receiver's replay
        # window, measured against its own clock.
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "Keystead-Webhooks",
            "webhook-id": event_id,
            "webhook-timestamp": str(floor(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, now, body),
        }
        try:
            # No redirects: a redirect could lead to an address the guard refused.
            async with httpx.AsyncClient(timeout=self.timeout_seconds,
                                         follow_redirects=False) as client:
                response = await client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return Sent(None, f"{type(exc).__name__}: {exc}" if str(exc)
                        else type(exc).__name__)
        return Sent(response.status_code)


@dataclass(frozen=True, slots=True)
class PublicAddressGuard:
    """Refuse hosts resolving to any non-public address, unless ``allow_private`` (tests and
    closed networks: KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE)."""

    allow_private: bool = False

    async def refusal(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        if self.allow_private:
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM)
        except OSError:
            return f"url host {host!r} does not resolve"
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                return (f"url host {host!r} resolves to the non-public address {address}; "
                        "set KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE=true to allow internal receivers")
        return None
