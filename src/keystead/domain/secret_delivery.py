"""Secret delivery: the ports and records for writing a client's secret where its application
reads it (a vault, a mounted file) instead of showing it to a person.

A *destination* is configured per client (its kind and settings, never a credential: the
vault's token or AppRole secret id come from the server's settings). A rotation writes the new
secret to the destination and reads it back before the rotation commits, so the old secret's
dual-use window starts only once the application can find the new one. The use cases live in
``domain/secret_rotation.py``; the destinations themselves in ``keystead/delivery/``.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from keystead.domain.audit import JSONValue
from keystead.domain.clients import Actor
from keystead.domain.errors import DomainError

MAX_ROTATION_DAYS = 3_650


class SecretDestination(Protocol):
    """Where one client's secret is written. Blocking calls (the use case runs them in a thread).

    An implementation raises ``DeliveryError`` with a message that names the place and the
    reason, never the secret or a credential.
    """

    def write(self, client_id: str, secret: str) -> None: ...

    def read_back(self, client_id: str) -> str:
        """The secret the destination now holds for the client (to verify a write)."""
        ...

    def describe(self) -> dict[str, JSONValue]:
        """Where it writes, for the audit and the API: no secret, no credential."""
        ...


class DestinationFactory(Protocol):
    """Knows the kinds of destination and checks their settings."""

    def open(self, kind: str, settings: Mapping[str, str]) -> SecretDestination:
        """Raises: InvalidInputError naming ``kind`` or ``settings.<name>`` and the rule."""
        ...


class DeliveryError(Exception):
    """A destination could not take or give back a secret; the message holds no secret."""


class DeliveryFailedError(DomainError):
    """The rotation did not happen because its secret could not be delivered (nothing changed)."""

    status: ClassVar[int] = 502
    code: ClassVar[str] = "secret.delivery.failed"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Rotate every ``every_days``; the previous secret then works ``dual_use_seconds`` more."""

    every_days: int
    dual_use_seconds: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A client's destination, its optional rotation schedule, and when it next rotates."""

    client_id: str
    kind: str
    settings: Mapping[str, str]
    schedule: Schedule | None
    next_rotation_at: datetime | None
    last_delivered_at: datetime | None
    configured_at: datetime
    configured_by: Actor


class DeliveryStore(Protocol):
    async def find(self, client_id: str, *, for_update: bool = False) -> Delivery | None:
        """``for_update``: lock it to the end of the transaction (one rotation at a time)."""
        ...

    async def put(self, delivery: Delivery) -> None: ...
    async def remove(self, client_id: str) -> None: ...

    async def due(self, now: datetime) -> Sequence[Delivery]:
        """Deliveries whose next rotation is at or before ``now``, the earliest first."""
        ...

    async def claim(self, client_id: str, *, seen: datetime, next_at: datetime,
                    delivered_at: datetime | None) -> bool:
        """Move the next rotation from ``seen`` to ``next_at`` if nobody else has: whether this
        caller won (a conditional UPDATE; the loser of a race sees no row change)."""
        ...


@dataclass(frozen=True, slots=True)
class Staged:
    """A rotation made but not yet delivered: the new secret is current and the previous one
    works with no end, so an application that reads the new one early is never refused."""

    client_id: str
    secret_id: str
    secret: str = field(repr=False)
    dual_use_seconds: int
    delivery: Delivery
    destination: SecretDestination
    scheduled: bool


async def deliver(staged: Staged) -> None:
    """Step 2, outside any transaction: write, then read back and compare (blocking calls, in a
    thread). Raises: DeliveryFailedError, with the secret scrubbed out of its message."""
    destination, client_id, secret = staged.destination, staged.client_id, staged.secret
    try:
        await asyncio.to_thread(destination.write, client_id, secret)
        held = await asyncio.to_thread(destination.read_back, client_id)
    except DeliveryError as exc:
        raise DeliveryFailedError("secret not delivered, nothing changed: "
                                  + str(exc).replace(secret, "[secret]")) from None
    if not hmac.compare_digest(held.encode(), secret.encode()):
        raise DeliveryFailedError("secret not delivered, nothing changed: the destination gave "
                                  "back a different value than was written")
