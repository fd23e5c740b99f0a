"""Planned deactivation (the seed's stage 6): notice first, then disable, then delete.

An admin plans a client's deactivation at a date with a reason and, optionally, the client that
replaces it. Until the date the client works, and its token responses say it is deprecated and
when it ends (``Deprecation``, RFC 9745; ``Sunset``, RFC 8594), so the application's own logs
warn its developers. The owner is told at once and again ``deactivationNoticeDays`` before the
date. On the date the client is disabled (its tokens stop); ``deactivationRetentionDays`` later
it is deleted (its audit history stays). Plan, reschedule and cancel are audited changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.client_management import ENTITY, ClientManagement
from keystead.domain.clients import Actor, Client, ClientState, ClientStore
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Problem,
    require_found,
)
from keystead.domain.governance.policy import PolicyStore
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

MAX_REASON = 500
MAX_PLAN_AHEAD = timedelta(days=3 * 365)


@dataclass(frozen=True, slots=True)
class Plan:
    client_id: str
    date: datetime  # the client is disabled at this instant (the Sunset)
    reason: str
    replacement_id: str | None
    planned_at: datetime  # the client counts as deprecated from here (the Deprecation date)
    planned_by: Actor
    reminded_at: datetime | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """A plan with what it is about and what follows from the policy, for presenting."""

    plan: Plan
    client_name: str
    replacement_name: str | None
    reminder_at: datetime
    deletion_at: datetime


class DeactivationStore(Protocol):
    async def find(self, client_id: str, *, for_update: bool = False) -> Plan | None: ...
    async def all(self, *, for_update: bool = False) -> Sequence[Plan]: ...
    async def add(self, plan: Plan) -> None: ...
    async def replace(self, plan: Plan) -> None: ...
    async def remove(self, client_id: str) -> None: ...


class DeletionGate(Protocol):
    async def may_delete(self, client_id: str, *, scheduled_by: Actor, since: datetime
                         ) -> bool:
        """True when a client whose scheduled end came at ``since`` may be deleted now; False
        when a second admin must approve first (the request is filed)."""


class DeactivationNotices(Protocol):
    """Tells the client's owner (and the admins who follow it) about its plan."""

    async def scheduled(self, planned: Planned) -> None: ...
    async def reminder(self, planned: Planned) -> None: ...
    async def disabled(self, planned: Planned) -> None: ...
    async def cancelled(self, planned: Planned) -> None: ...


def _system() -> Caller:
    return Caller(Actor("system", "scheduler", "planned deactivation"), frozenset(),
                  frozenset({Permission.OAUTH_CLIENT_VIEW, Permission.OAUTH_CLIENT_EDIT,
                             Permission.OAUTH_CLIENT_DELETE}))


@dataclass(slots=True)
class PlannedDeactivation:
    plans: DeactivationStore
    clients: ClientManagement
    directory: ClientStore  # names for presenting, read without a permission check
    policies: PolicyStore
    notices: DeactivationNotices
    auditor: Auditor
    clock: Clock
    deletions: DeletionGate | None = None  # None: the plan's end deletes without approval

    async def list(self, caller: Caller) -> list[Planned]:
        caller.require(Permission.OAUTH_CLIENT_VIEW)
        return [await self._presented(p) for p in await self.plans.all()]

    async def view(self, caller: Caller, client_id: str) -> Planned:
        await self.clients.find(caller, client_id)
        return await self._presented(await self._existing(client_id))

    async def pending(self, client_id: str) -> Planned | None:
        """The client's plan, for a page that has already shown the caller the client."""
        plan = await self.plans.find(client_id)
        return None if plan is None else await self._presented(plan)

    async def schedule(self, caller: Caller, client_id: str, *, date: datetime, reason: str,
                       replacement_id: str | None) -> Planned:
        """Raises: ForbiddenError, NotFoundError, InvalidInputError, ConflictError (already
        planned: reschedule it instead)."""
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        if await self.plans.find(client_id) is not None:
            raise ConflictError(f"client {client_id} already has a planned deactivation; "
                                "change it with PUT or cancel it first")
        now = self.clock()
        if client.settings.state is not ClientState.active:
            raise InvalidInputError.one("clientId", "not.active",
                                        "only an active client can be planned for deactivation")
        await self._check(caller, client_id, date=date, reason=reason,
                          replacement_id=replacement_id, now=now)
        plan = Plan(client_id, date, reason.strip(), replacement_id, now, caller.actor)
        await self.plans.add(plan)
        planned = await self._presented(plan)
        await self.auditor.record(caller, "deactivation.schedule", _entity(client),
                                  _described(planned))
        await self.notices.scheduled(planned)
        return planned

    async def reschedule(self, caller: Caller, client_id: str, *, date: datetime, reason: str,
                         replacement_id: str | None) -> Planned:
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        old = await self._existing(client_id, for_update=True)
        if old.disabled_at is not None:
            raise ConflictError("the client was already disabled on its date; enable it (and "
                                "cancel the plan) to bring it back")
        await self._check(caller, client_id, date=date, reason=reason,
                          replacement_id=replacement_id, now=self.clock())
        new = replace(old, date=date, reason=reason.strip(), replacement_id=replacement_id,
                      reminded_at=old.reminded_at if date == old.date else None)
        changes = property_changes(_described(await self._presented(old)),
                                   _described(planned := await self._presented(new)))
        if changes:
            await self.plans.replace(new)
            await self.auditor.record(caller, "deactivation.reschedule", _entity(client),
                                      {"propertyChanges": changes})
            await self.notices.scheduled(planned)
        return planned

    async def cancel(self, caller: Caller, client_id: str) -> None:
        """The client keeps working (a client already disabled by the plan stays disabled)."""
        client = await self.clients.find(caller, client_id,
                                         permission=Permission.OAUTH_CLIENT_EDIT)
        plan = await self._existing(client_id, for_update=True)
        planned = await self._presented(plan)
        await self.plans.remove(client_id)
        await self.auditor.record(caller, "deactivation.cancel", _entity(client),
                                  {"date": plan.date.isoformat()})
        await self.notices.cancelled(planned)

    async def attend(self) -> int:
        """Remind, disable and delete as each plan's dates pass; return how many steps ran.

        Runs in housekeeping on every replica: plans are read for update, so two replicas never
        take the same step twice.
        """
        now = self.clock()
        steps = 0
        for plan in await self.plans.all(for_update=True):
            planned = await self._presented(plan)
            if plan.disabled_at is None and now >= plan.date:
                await self._disable(plan, now)
                await self.notices.disabled(planned)
                steps += 1
            elif plan.disabled_at is None and plan.reminded_at is None \
                    and now >= planned.reminder_at:
                await self.plans.replace(replace(plan, reminded_at=now))
                await self.notices.reminder(planned)
                steps += 1
            elif plan.disabled_at is not None and now >= planned.deletion_at \
                    and await self._may_delete(plan, planned.deletion_at):
                await self._delete(plan)
                steps += 1
        return steps

    async def _disable(self, plan: Plan, now: datetime) -> None:
        system = _system()
        await self.clients.disable(system, plan.client_id,
                                   reason=f"planned deactivation: {plan.reason}")
        await self.plans.replace(replace(plan, disabled_at=now))

    async def _may_delete(self, plan: Plan, since: datetime) -> bool:
        return self.deletions is None or await self.deletions.may_delete(
            plan.client_id, scheduled_by=plan.planned_by, since=since)

    async def _delete(self, plan: Plan) -> None:
        system = _system()
        client = await self.clients.find(system, plan.client_id)
        await self.auditor.record(system, "deactivation.delete", _entity(client),
                                  {"reason": plan.reason, "disabledAt": _iso(plan.disabled_at)})
        await self.clients.delete(system, plan.client_id)  # the plan goes with it

    async def _check(self, caller: Caller, client_id: str, *, date: datetime, reason: str,
                     replacement_id: str | None, now: datetime) -> None:
        problems = []
        if date <= now:
            problems.append(Problem("date", "not.future", "the date must be in the future"))
        elif date > now + MAX_PLAN_AHEAD:
            problems.append(Problem("date", "too.far", "the date must be within 3 years"))
        if not reason.strip():
            problems.append(Problem("reason", "required", "say why the client is retired"))
        elif len(reason) > MAX_REASON:
            problems.append(Problem("reason", "too.long",
                                    f"the reason must be at most {MAX_REASON} characters"))
        if replacement_id is not None:
            if replacement_id == client_id:
                problems.append(Problem("replacementClientId", "same.client",
                                        "a client cannot replace itself"))
            else:
                try:
                    other = await self.clients.find(caller, replacement_id)
                except NotFoundError:
                    other = None
                if other is None or other.settings.state is not ClientState.active:
                    problems.append(Problem("replacementClientId", "not.active",
                                            "the replacement must be an existing, active "
                                            "client"))
        if problems:
            raise InvalidInputError(problems)

    async def _existing(self, client_id: str, *, for_update: bool = False) -> Plan:
        return require_found(await self.plans.find(client_id, for_update=for_update),
                             f"client {client_id} has no planned deactivation")

    async def _presented(self, plan: Plan) -> Planned:
        policy = await self.policies.find()
        client = await self.directory.find(plan.client_id)
        replacement = None if plan.replacement_id is None else \
            await self.directory.find(plan.replacement_id)
        return Planned(plan, _name(client) or "", _name(replacement),
                       plan.date - timedelta(days=policy.deactivation_notice_days),
                       plan.date + timedelta(days=policy.deactivation_retention_days))


def _name(client: Client | None) -> str | None:
    return None if client is None else client.settings.name


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _entity(client: Client) -> Entity:
    return Entity(ENTITY, client.id, client.settings.name)


def _described(planned: Planned) -> dict[str, JSONValue]:
    plan = planned.plan
    return {"date": plan.date.isoformat(), "reason": plan.reason,
            "replacementClientId": plan.replacement_id,
            "reminderAt": planned.reminder_at.isoformat(),
            "deletionAt": planned.deletion_at.isoformat()}
