"""Secret delivery and scheduled rotation use cases: configure where a client's secret goes,
rotate it there on demand or on schedule, each step checked and audited.

Choosing a client's destination decides who can read its secret, so it needs what regenerating
needs: ``oauth:client:edit`` and every permission the client's roles give. A rotation with
delivery runs in the caller's transaction: the new secret is made current (not yet committed),
written to the destination and read back; only if the read-back matches does the transaction
commit and the old secret's dual-use window begin. Any failure rolls the rotation back, and the
caller records the failure (``record_failure``) in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.audit import Auditor, Entity, JSONValue, Result
from keystead.domain.client_management import ENTITY, MAX_DUAL_USE_SECONDS, ClientManagement
from keystead.domain.clients import Actor, Client
from keystead.domain.clock import Clock
from keystead.domain.errors import InvalidInputError, NotFoundError, Problem
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secret_delivery import (
    MAX_ROTATION_DAYS,
    Delivery,
    DeliveryError,
    DeliveryFailedError,
    DeliveryStore,
    DestinationFactory,
    Schedule,
    SecretDestination,
)

# A scheduled rotation whose delivery failed is tried again this much later (not every minute).
RETRY_AFTER = timedelta(hours=1)


def scheduler() -> Caller:
    """The background rotation: acts on the schedule an authorised admin configured."""
    return Caller(Actor("system", "scheduler", "scheduled secret rotation"), frozenset(),
                  frozenset({"*:*:*"}))


@dataclass(slots=True)
class SecretDelivery:
    deliveries: DeliveryStore
    clients: ClientManagement
    factory: DestinationFactory
    auditor: Auditor
    clock: Clock

    async def view(self, caller: Caller, client_id: str) -> Delivery:
        await self.clients.find(caller, client_id)
        return await self._existing(client_id)

    async def configure(self, caller: Caller, client_id: str, *, kind: str,
                        settings: Mapping[str, str], schedule: Schedule | None) -> Delivery:
        """Set (or replace) the client's destination and rotation schedule.

        Raises: ForbiddenError, NotFoundError, InvalidInputError (naming the field).
        """
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        if client.settings.is_public:
            raise InvalidInputError.one("clientId", "public.no.secret",
                                        "a public client has no secret to deliver")
        await self.clients.check_may_hold_secret(caller, client)
        destination = self.factory.open(kind, settings)  # checks the settings
        _check(schedule)
        now = self.clock()
        old = await self.deliveries.find(client_id)
        next_at = None
        if schedule is not None:
            kept = old is not None and old.schedule == schedule and old.next_rotation_at
            next_at = old.next_rotation_at if kept and old is not None else \
                now + timedelta(days=schedule.every_days)
        delivery = Delivery(client_id, kind, dict(settings), schedule, next_at,
                            None if old is None else old.last_delivered_at, now, caller.actor)
        await self.deliveries.put(delivery)
        await self.auditor.record(caller, "secret.destination.set", _entity(client),
                                  {**_described(delivery), "destination": destination.describe()})
        return delivery

    async def remove(self, caller: Caller, client_id: str) -> None:
        """Forget the destination and schedule (the secret already delivered stays there)."""
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        await self._existing(client_id)
        await self.deliveries.remove(client_id)
        await self.auditor.record(caller, "secret.destination.remove", _entity(client), {})

    async def regenerate(self, caller: Caller, client_id: str, *,
                         dual_use_seconds: int) -> Client:
        """Rotate the client's secret into its destination; the value is returned to no one.

        Raises: DeliveryFailedError (nothing changed), and what ``regenerate_secret`` raises.
        """
        await self.clients.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        delivery = await self._existing(client_id, field="deliver")
        client = await self._rotate(caller, delivery, dual_use_seconds)
        if delivery.schedule is not None:  # a manual rotation restarts the schedule
            now = self.clock()
            await self.deliveries.put(replace(
                delivery, last_delivered_at=now,
                next_rotation_at=now + timedelta(days=delivery.schedule.every_days)))
        else:
            await self.deliveries.put(replace(delivery, last_delivered_at=self.clock()))
        return client

    async def rotate_scheduled(self, client_id: str, seen: datetime) -> bool:
        """Rotate a client whose rotation was due at ``seen``, unless another replica already
        has (the claim is a conditional update): whether this call rotated it."""
        delivery = await self.deliveries.find(client_id)
        if delivery is None or delivery.schedule is None:
            return False
        now = self.clock()
        if not await self.deliveries.claim(
                client_id, seen=seen, delivered_at=now,
                next_at=now + timedelta(days=delivery.schedule.every_days)):
            return False
        await self._rotate(scheduler(), delivery, delivery.schedule.dual_use_seconds)
        return True

    async def due(self) -> list[tuple[str, datetime]]:
        """The clients whose scheduled rotation is due, with the due date each was seen at."""
        return [(d.client_id, d.next_rotation_at) for d in await self.deliveries.due(self.clock())
                if d.next_rotation_at is not None]

    async def record_failure(self, caller: Caller, client_id: str, error: DeliveryFailedError,
                             *, seen: datetime | None = None) -> None:
        """Audit a failed delivery (in a transaction of its own: the rotation rolled back).

        ``seen``: a scheduled rotation's due date, moved ``RETRY_AFTER`` on by whichever replica
        claims it (so the failure is recorded once, and retried later rather than every minute).
        """
        client = await self.clients.clients.find(client_id)
        delivery = await self.deliveries.find(client_id)
        if client is None or delivery is None:
            return
        if seen is not None and not await self.deliveries.claim(
                client_id, seen=seen, next_at=self.clock() + RETRY_AFTER,
                delivered_at=delivery.last_delivered_at):
            return
        await self.auditor.record(caller, "secret.deliver", _entity(client), {
            "kind": delivery.kind, "scheduled": seen is not None, "error": error.message},
            result=Result.failure)

    async def _rotate(self, caller: Caller, delivery: Delivery, dual_use_seconds: int) -> Client:
        try:
            destination = self.factory.open(delivery.kind, delivery.settings)
        except InvalidInputError as exc:  # e.g. its directory was removed since
            raise DeliveryFailedError("secret not delivered, nothing changed: the destination "
                                      f"is no longer usable ({exc.message})") from None
        issued = await self.clients.regenerate_secret(caller, delivery.client_id,
                                                      dual_use_seconds=dual_use_seconds)
        if issued.secret is None:  # made public since it was configured
            raise InvalidInputError.one("clientType", "public.no.secret",
                                        "a public client has no secret to deliver")
        await _deliver(destination, delivery.client_id, issued.secret)
        await self.auditor.record(caller, "secret.deliver", _entity(issued.client), {
            "kind": delivery.kind, "destination": destination.describe(),
            "scheduled": caller.actor.kind == "system", "verified": True})
        return issued.client

    async def _existing(self, client_id: str, *, field: str | None = None) -> Delivery:
        delivery = await self.deliveries.find(client_id)
        if delivery is None and field is not None:
            raise InvalidInputError.one(field, "no.destination",
                                        f"client {client_id} has no secret destination: "
                                        "configure one first (PUT .../secret/destination)")
        if delivery is None:
            raise NotFoundError(f"client {client_id} has no secret destination")
        return delivery


async def _deliver(destination: SecretDestination, client_id: str, secret: str) -> None:
    """Write, then read back and compare; any failure raises with the secret scrubbed out."""
    try:
        await asyncio.to_thread(destination.write, client_id, secret)
        held = await asyncio.to_thread(destination.read_back, client_id)
    except DeliveryError as exc:
        raise DeliveryFailedError("secret not delivered, nothing changed: "
                                  + str(exc).replace(secret, "[secret]")) from None
    if not hmac.compare_digest(held.encode(), secret.encode()):
        raise DeliveryFailedError("secret not delivered, nothing changed: the destination gave "
                                  "back a different value than was written")


def _check(schedule: Schedule | None) -> None:
    if schedule is None:
        return
    problems = []
    if not 1 <= schedule.every_days <= MAX_ROTATION_DAYS:
        problems.append(Problem("rotation.everyDays", "out.of.range",
                                f"everyDays must be from 1 to {MAX_ROTATION_DAYS}"))
    if not 0 <= schedule.dual_use_seconds <= MAX_DUAL_USE_SECONDS:
        problems.append(Problem("rotation.dualUseSeconds", "out.of.range",
                                f"dualUseSeconds must be from 0 to {MAX_DUAL_USE_SECONDS}"))
    elif not problems and schedule.dual_use_seconds >= schedule.every_days * 86_400:
        problems.append(Problem("rotation.dualUseSeconds", "too.long",
                                "the dual-use window must end before the next rotation"))
    if problems:
        raise InvalidInputError(problems)


def _entity(client: Client) -> Entity:
    return Entity(ENTITY, client.id, client.settings.name)


def _described(delivery: Delivery) -> dict[str, JSONValue]:
    schedule = delivery.schedule
    return {"kind": delivery.kind,
            "rotation": None if schedule is None else {
                "everyDays": schedule.every_days, "dualUseSeconds": schedule.dual_use_seconds},
            "nextRotationAt": None if delivery.next_rotation_at is None
            else delivery.next_rotation_at.isoformat()}
