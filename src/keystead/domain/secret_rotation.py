"""Secret delivery and scheduled rotation use cases: configure where a client's secret goes,
rotate it there on demand or on schedule, each step checked and audited.

Choosing a client's destination decides who can read its secret, so it needs what regenerating
needs: ``oauth:client:edit`` and every permission the client's roles give.

A rotation with delivery takes three steps, each its own transaction but the second:
1. ``stage``: the new secret becomes current and the previous one keeps working with no end
   (committed: an application that finds the new secret in the vault at once must be let in);
2. ``deliver``: the new secret is written to the destination and read back;
3. ``commit``: the previous secret's dual-use window starts, and the rotation is audited; or,
   if step 2 failed, ``abandon``: the staged secret is deleted, the previous one is current
   again (nothing changed), and the failure is audited.
If the process dies between the steps, both secrets keep working until the next rotation: the
application is never locked out. ``web/delivery_runs.py`` drives the steps.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.audit import Auditor, Entity, JSONValue, Result
from keystead.domain.client_management import ENTITY, MAX_DUAL_USE_SECONDS, ClientManagement
from keystead.domain.clients import Actor, Client
from keystead.domain.clock import Clock
from keystead.domain.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secret_delivery import (
    MAX_ROTATION_DAYS,
    Delivery,
    DeliveryFailedError,
    DeliveryStore,
    DestinationFactory,
    Schedule,
    Staged,
)
from keystead.domain.secrets import fingerprint, new_secret

# A scheduled rotation whose delivery failed is tried again this much later (not every minute).
RETRY_AFTER = timedelta(hours=1)
# A staged rotation older than this was left by a process that stopped mid-way (a delivery
# takes at most a few vault timeouts).
STALE_STAGING = timedelta(minutes=10)


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

    async def pending(self, client_id: str) -> Delivery | None:
        """The client's destination, for a page that has already shown the caller the client."""
        return await self.deliveries.find(client_id)

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
        if schedule is not None:  # an unchanged schedule keeps its date
            next_at = old.next_rotation_at if old is not None and old.schedule == schedule \
                else None
            next_at = next_at or now + timedelta(days=schedule.every_days)
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

    async def stage(self, caller: Caller, client_id: str, *,
                    dual_use_seconds: int) -> Staged:
        """Step 1 of a rotation with delivery (commit it before step 2): a new current secret,
        the previous one kept working with no end yet.

        Raises: ForbiddenError, NotFoundError, InvalidInputError, DeliveryFailedError (the
        destination is no longer usable; nothing was staged).
        """
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        if not 0 <= dual_use_seconds <= MAX_DUAL_USE_SECONDS:
            raise InvalidInputError.one(
                "dualUseSeconds", "out.of.range",
                f"dualUseSeconds must be between 0 and {MAX_DUAL_USE_SECONDS} seconds")
        delivery = await self._existing(client_id, field="deliver", for_update=True)
        locked = await self.clients.clients.find(client_id)  # read again, under the lock
        if locked is not None and (started := self._under_way(locked)) is not None:
            raise ConflictError(f"a delivery of this client's secret is under way (since "
                                f"{started.isoformat()}); try again when it has ended")
        if client.settings.is_public:
            raise InvalidInputError.one("clientType", "public.no.secret",
                                        "a public client has no secret to deliver")
        await self.clients.check_may_hold_secret(caller, client)
        return await self._staged(delivery, dual_use_seconds, scheduled=False)

    async def stage_scheduled(self, client_id: str, seen: datetime) -> Staged | None:
        """Step 1 of a scheduled rotation due at ``seen``, unless another replica has claimed it
        (a conditional update of the due date): None then."""
        delivery = await self.deliveries.find(client_id, for_update=True)
        client = await self.clients.clients.find(client_id)
        if delivery is None or delivery.schedule is None or client is None or \
                self._under_way(client) is not None:  # still due: the next round tries again
            return None
        now = self.clock()
        if not await self.deliveries.claim(
                client_id, seen=seen, delivered_at=delivery.last_delivered_at,
                next_at=now + timedelta(days=delivery.schedule.every_days)):
            return None
        return await self._staged(delivery, delivery.schedule.dual_use_seconds, scheduled=True)

    async def commit(self, caller: Caller, staged: Staged) -> Client:
        """Step 3, once the destination gave the secret back: the previous secret's dual-use
        window starts now; the rotation and the delivery are audited."""
        now = self.clock()
        await self.clients.secrets.start_window(
            staged.client_id, expires=now + timedelta(seconds=staged.dual_use_seconds))
        client = await self.clients.find(caller, staged.client_id)
        await self.auditor.record(caller, "secret.regenerate", _entity(client),
                                  {"dualUseSeconds": staged.dual_use_seconds})
        await self.auditor.record(caller, "secret.deliver", _entity(client), {
            "kind": staged.delivery.kind, "destination": staged.destination.describe(),
            "scheduled": staged.scheduled, "verified": True})
        delivery = await self.deliveries.find(staged.client_id)
        if delivery is not None:
            next_at = delivery.next_rotation_at
            if delivery.schedule is not None and not staged.scheduled:
                next_at = now + timedelta(days=delivery.schedule.every_days)  # restarted
            await self.deliveries.put(replace(delivery, last_delivered_at=now,
                                              next_rotation_at=next_at))
        await self._reevaluate(staged.client_id)
        return client

    async def abandon(self, caller: Caller, staged: Staged, error: DeliveryFailedError) -> None:
        """Step 3 when delivery failed: the staged secret is deleted and the previous one is
        current again, as if nothing happened; the failure is audited (a scheduled rotation is
        tried again ``RETRY_AFTER`` later)."""
        await self.clients.secrets.restore_previous(staged.client_id,
                                                    staged_id=staged.secret_id)
        delivery = await self.deliveries.find(staged.client_id)
        if delivery is not None and staged.scheduled:
            await self.deliveries.put(replace(delivery,
                                              next_rotation_at=self.clock() + RETRY_AFTER))
        client = await self.clients.clients.find(staged.client_id)
        if client is not None:
            await self.auditor.record(caller, "secret.deliver", _entity(client), {
                "kind": staged.delivery.kind, "scheduled": staged.scheduled,
                "error": error.message}, result=Result.failure)
            await self._reevaluate(staged.client_id)  # a deleted client has no findings

    async def due(self) -> list[tuple[str, datetime]]:
        """The clients whose scheduled rotation is due, with the due date each was seen at."""
        return [(d.client_id, d.next_rotation_at) for d in await self.deliveries.due(self.clock())
                if d.next_rotation_at is not None]

    async def record_failure(self, caller: Caller, client_id: str, error: DeliveryFailedError,
                             *, seen: datetime | None = None) -> bool:
        """Audit a delivery that failed before anything was staged (in a transaction of its
        own). ``seen``: a scheduled rotation's due date, moved ``RETRY_AFTER`` on by whichever
        replica claims it (so the failure is recorded once, and retried later). Whether this
        call recorded it."""
        client = await self.clients.clients.find(client_id)
        delivery = await self.deliveries.find(client_id)
        if client is None or delivery is None:
            return False
        if seen is not None and not await self.deliveries.claim(
                client_id, seen=seen, next_at=self.clock() + RETRY_AFTER,
                delivered_at=delivery.last_delivered_at):
            return False
        await self.auditor.record(caller, "secret.deliver", _entity(client), {
            "kind": delivery.kind, "scheduled": seen is not None, "error": error.message},
            result=Result.failure)
        await self._reevaluate(client_id)
        return True

    async def _reevaluate(self, client_id: str) -> None:
        """A delivery failed or succeeded: the client's findings (secret-delivery-failed) are
        judged again at once, so the failure is a finding, and a notice, now."""
        if self.clients.changed is not None:
            await self.clients.changed(client_id)

    async def _staged(self, delivery: Delivery, dual_use_seconds: int, *,
                      scheduled: bool) -> Staged:
        try:
            destination = self.factory.open(delivery.kind, delivery.settings)
        except InvalidInputError as exc:  # e.g. its directory was removed since
            raise DeliveryFailedError("secret not delivered, nothing changed: the destination "
                                      f"is no longer usable ({exc.message})") from None
        secret, secret_id = new_secret(), str(uuid.uuid4())
        digester = self.clients.digester
        await self.clients.secrets.rotate(delivery.client_id, secret_id=secret_id,
                                          digest=digester.secret(secret), now=self.clock(),
                                          previous_expires=None, key_id=digester.current_kid,
                                          fingerprint=fingerprint(secret))
        return Staged(delivery.client_id, secret_id, secret, dual_use_seconds, delivery,
                      destination, scheduled)

    def _under_way(self, client: Client) -> datetime | None:
        """When a rotation of ``client`` that is still being delivered began (a previous secret
        held with no end, staged less than ``STALE_STAGING`` ago), else None. One left behind
        by a process that stopped mid-way is older: the next rotation replaces it."""
        held = any(not s.current and s.date_expires is None for s in client.secrets)
        current = [s.date_created for s in client.secrets if s.current]
        if held and current and current[0] > self.clock() - STALE_STAGING:
            return current[0]
        return None

    async def _existing(self, client_id: str, *, field: str | None = None,
                        for_update: bool = False) -> Delivery:
        delivery = await self.deliveries.find(client_id, for_update=for_update)
        if delivery is None and field is not None:
            raise InvalidInputError.one(field, "no.destination",
                                        f"client {client_id} has no secret destination: "
                                        "configure one first (PUT .../secret/destination)")
        if delivery is None:
            raise NotFoundError(f"client {client_id} has no secret destination")
        return delivery


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
