"""The transactional outbox: messages queued with the change that causes them, sent at least once.

A use case ``enqueue``s a message on the connection of its own transaction, so the message
exists exactly when the change committed. A sender (``OutboxSender``) later claims due messages
under a lease, hands each to the delivery channel named by its ``channel`` (e-mail, and
webhooks: ``domain/webhooks/dispatch.py``), and marks it sent. A sender that dies mid-delivery
leaves its lease to run out; the next sender claims the message again, so delivery is at least
once and a message is never lost. A failed delivery is retried with exponential back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import JSONValue
from keystead.domain.clock import Clock

log = logging.getLogger("keystead.outbox")

LEASE = timedelta(seconds=60)  # longer than any one delivery's timeout
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
MAX_ERROR_CHARS = 500
# A payload key: the message carries a one-time secret (an invitation link), so its body is
# dropped from the outbox as soon as it is sent (the rest stays, as for any sent message).
SENSITIVE = "sensitive"
SENT_BODY = "(removed once sent: it held a one-time link)"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One queued message: its delivery channel and what the channel needs, never a secret."""

    id: str
    channel: str
    payload: dict[str, JSONValue]
    created_at: datetime
    attempts: int = 0


class DeliveryError(Exception):
    """The channel could not deliver now (server down, refused): retry later."""


class Channel(Protocol):
    """A way out: ``deliver`` returns once the message is accepted, or raises DeliveryError."""

    async def deliver(self, payload: Mapping[str, JSONValue]) -> None: ...


class Outbox(Protocol):
    """What a use case writes to, inside its own transaction."""

    async def enqueue(self, channel: str, payload: dict[str, JSONValue], *,
                      now: datetime, ordering_key: str | None = None) -> str:
        """Queue a message due at once; return its id. Messages sharing an ``ordering_key``
        are claimed one at a time, in the order they were queued: one still failing holds
        back those after it."""

    async def withdraw(self, ordering_key: str) -> int:
        """Delete the key's unsent messages (one holding a link that no longer works); return
        how many there were."""


class OutboxLedger(Outbox, Protocol):
    """What a sender reads and writes, each call in a short transaction of its own."""

    async def claim(self, *, owner: str, channels: Sequence[str], now: datetime,
                    lease_until: datetime, limit: int) -> list[OutboxMessage]:
        """Lease up to ``limit`` unsent messages that are due and not leased by a live sender
        (none, or an expired lease), counting the attempt."""

    async def mark_sent(self, message_id: str, *, owner: str, now: datetime,
                        payload: dict[str, JSONValue] | None = None) -> None:
        """Mark the message sent; a given ``payload`` replaces what was stored."""

    async def mark_failed(self, message_id: str, *, owner: str, error: str,
                          retry_at: datetime) -> None:
        """Release the lease and make the message due again at ``retry_at``."""


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    doublings = min(max(attempts - 1, 0), 16)  # 2**16 * 30 s is far past the hour anyway
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


@dataclass(slots=True)
class OutboxSender:
    """Claim due messages, deliver each through its channel, record the outcome.

    ``ledger`` opens a transaction of its own per use: the claim commits before any delivery
    starts (so a lease is visible to the other senders), and each outcome commits alone.
    """

    ledger: Callable[[], AbstractAsyncContextManager[OutboxLedger]]
    channels: Mapping[str, Channel]
    clock: Clock
    owner: str  # this sender's name in the leases it takes
    batch: int = 20
    lease: timedelta = LEASE  # how long a sender that died holds up what it claimed

    async def send_due(self) -> int:
        """Deliver what is due now; return how many messages were sent."""
        if not self.channels:
            return 0
        now = self.clock()
        async with self.ledger() as ledger:
            claimed = await ledger.claim(owner=self.owner, channels=sorted(self.channels),
                                         now=now, lease_until=now + self.lease,
                                         limit=self.batch)
        sent = 0
        for message in claimed:
            try:
                await self.channels[message.channel].deliver(message.payload)
            except DeliveryError as exc:
                error = str(exc)[:MAX_ERROR_CHARS]
                log.warning("outbox message %s (%s) not delivered, attempt %d: %s",
                            message.id, message.channel, message.attempts, error)
                async with self.ledger() as ledger:
                    await ledger.mark_failed(
                        message.id, owner=self.owner, error=error,
                        retry_at=self.clock() + retry_delay(message.attempts))
                continue
            async with self.ledger() as ledger:
                await ledger.mark_sent(message.id, owner=self.owner, now=self.clock(),
                                       payload=forgotten(message.payload))
            sent += 1
        return sent


def forgotten(payload: Mapping[str, JSONValue]) -> dict[str, JSONValue] | None:
    """What a sent sensitive message keeps (its body gone); None: keep it all."""
    if payload.get(SENSITIVE) is not True:
        return None
    return {**payload, "body": SENT_BODY}
