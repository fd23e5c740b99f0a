"""Planned deactivation (the seed's stage 6: notify owners, provide a replacement, allow a
migration period).

An admin plans a client's deactivation at a date, with a reason and optionally the client that
replaces it. The owner is told at once, and again ``deactivationNoticeDays`` before the date.
Until the date the client works. On the date housekeeping makes it inactive (no tokens, its
tokens revoked) with ``dateToDelete`` ``deactivationRetentionDays`` later, when the existing
scheduled deletion removes it. Planning again reschedules; cancelling removes the plan. Every
step is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.client_management import ENTITY, ClientManagement
from keystead.domain.clients import Actor, Client, ClientState
from keystead.domain.errors import InvalidInputError, NotFoundError, Problem
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.governance.policy import PolicyStore
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

MAX_REASON = 1_000
SYSTEM = Caller(Actor("system", "scheduler", "planned deactivation"), frozenset(),
                frozenset({Permission.OAUTH_CLIENT_EDIT, Permission.OAUTH_CLIENT_VIEW}))


@dataclass(frozen=True, slots=True)
class DeactivationPlan:
    client_id: str
    client_name: str
    deactivate_at: datetime
    reason: str
    replacement_client_id: str | None
    planned_by: Actor
    planned_at: datetime
    reminded_at: datetime | None = None  # when the owner got the "in N days" reminder


class DeactivationPlanStore(Protocol):
    async def save(self, plan: DeactivationPlan) -> None:
        """Add the client's plan, or replace the one it has."""
    async def find(self, client_id: str) -> DeactivationPlan | None: ...
    async def remove(self, client_id: str) -> None: ...
    async def all(self) -> Sequence[DeactivationPlan]:
        """Every plan, soonest first."""
    async def due_for_reminder(self, now: datetime, notice: timedelta
                               ) -> Sequence[DeactivationPlan]:
        """Unreminded plans whose date is within ``notice`` of ``now`` (not yet passed)."""
    async def due(self, now: datetime) -> Sequence[DeactivationPlan]:
        """Plans whose date has come (claimed: concurrent callers never get the same plan)."""


def describe(plan: DeactivationPlan) -> dict[str, JSONValue]:
    return {"deactivateAt": plan.deactivate_at.isoformat(), "reason": plan.reason,
            "replacementClientId": plan.replacement_client_id}


@dataclass(slots=True)
class DeactivationPlanning:
    management: ClientManagement
    plans: DeactivationPlanStore
    policies: PolicyStore
    auditor: Auditor
    notifier: Notifier

    async def plan(self, caller: Caller, client_id: str, *, deactivate_at: datetime,
                   reason: str, replacement_client_id: str | None = None
                   ) -> DeactivationPlan:
        """Plan (or reschedule) the client's deactivation; the owner is told at once.

        Raises:
            ForbiddenError: without ``oauth:client:edit``.
            NotFoundError: no such client.
            InvalidInputError: the date is not in the future, no reason, or the replacement is
                unknown or the client itself (each named).
        """
        client = await self.management.find(caller, client_id,
                                            permission=Permission.OAUTH_CLIENT_EDIT)
        now = self.management.clock()
        reason = reason.strip()
        problems: list[Problem] = []
        if deactivate_at <= now:
            problems.append(Problem("deactivateAt", "not.future",
                                    "deactivateAt must be in the future (UTC)"))
        if not reason or len(reason) > MAX_REASON:
            problems.append(Problem("reason", "required", "say why the client is deactivated "
                                    f"(1 to {MAX_REASON} characters)"))
        replacement = None
        if replacement_client_id:
            replacement = await self.management.clients.find(replacement_client_id)
            if replacement is None or replacement.id == client.id:
                problems.append(Problem("replacementClientId", "unknown.client",
                                        "replacementClientId must name another existing client"))
        if problems:
            raise InvalidInputError(problems)
        before = await self.plans.find(client.id)
        plan = DeactivationPlan(client.id, client.settings.name, deactivate_at, reason,
                                replacement.id if replacement else None, caller.actor, now)
        await self.plans.save(plan)
        action = "deactivation.reschedule" if before else "deactivation.schedule"
        details: dict[str, JSONValue] = describe(plan)
        if before:
            details = {"propertyChanges": {k: {"old": v, "new": details[k]} for k, v in
                                           describe(before).items() if details[k] != v}}
        await self.auditor.record(caller, action, _entity(client), details)
        instead = (f" Its replacement is {replacement.settings.name!r} ({replacement.id})."
                   if replacement else "")
        await self._tell(client, Message(
            NoticeKind.deactivation_scheduled,
            f"OAuth client {client.settings.name!r} will be deactivated on "
            f"{deactivate_at:%Y-%m-%d}",
            f"The OAuth client {client.settings.name!r} ({client.id}) will stop working at "
            f"{deactivate_at:%Y-%m-%d %H:%M} UTC: {reason}.{instead} Move its users before "
            "then.", client_id=client.id))
        return plan

    async def cancel(self, caller: Caller, client_id: str) -> None:
        """Raises: ForbiddenError; NotFoundError when the client has no plan."""
        client = await self.management.find(caller, client_id,
                                            permission=Permission.OAUTH_CLIENT_EDIT)
        plan = await self.plans.find(client.id)
        if plan is None:
            raise NotFoundError(f"OAuth client {client_id} has no planned deactivation")
        await self.plans.remove(client.id)
        await self.auditor.record(caller, "deactivation.cancel", _entity(client),
                                  describe(plan))
        await self._tell(client, Message(
            NoticeKind.deactivation_cancelled,
            f"Deactivation of OAuth client {client.settings.name!r} cancelled",
            f"The OAuth client {client.settings.name!r} ({client.id}) is no longer planned to "
            "be deactivated.", client_id=client.id))

    async def find(self, caller: Caller, client_id: str) -> DeactivationPlan | None:
        caller.require(Permission.OAUTH_CLIENT_VIEW)
        return await self.plans.find(client_id)

    async def list(self, caller: Caller) -> Sequence[DeactivationPlan]:
        caller.require(Permission.OAUTH_CLIENT_VIEW)
        return await self.plans.all()

    async def run_due(self) -> int:
        """Housekeeping: remind owners whose date is near; deactivate clients whose date came.
        Returns how many clients were deactivated."""
        now = self.management.clock()
        policy = await self.policies.find()
        for plan in await self.plans.due_for_reminder(
                now, timedelta(days=policy.deactivation_notice_days)):
            await self.plans.save(replace(plan, reminded_at=now))
            client = await self.management.clients.find(plan.client_id)
            if client is not None:
                await self._tell(client, Message(
                    NoticeKind.deactivation_soon,
                    f"OAuth client {plan.client_name!r} is deactivated on "
                    f"{plan.deactivate_at:%Y-%m-%d}",
                    f"Reminder: the OAuth client {plan.client_name!r} ({plan.client_id}) stops "
                    f"working at {plan.deactivate_at:%Y-%m-%d %H:%M} UTC: {plan.reason}.",
                    client_id=plan.client_id))
        done = 0
        for plan in await self.plans.due(now):
            await self.plans.remove(plan.client_id)
            client = await self.management.clients.find(plan.client_id)
            if client is None or client.settings.state is ClientState.inactive:
                continue
            delete_at = now + timedelta(days=max(policy.deactivation_retention_days, 1))
            # Not through ``update``: its checks judge today's rules, and a client that breaks
            # one must still stop on its date.
            await self.management.clients.replace(replace(
                client, settings=replace(client.settings, state=ClientState.inactive,
                                         date_to_delete=delete_at),
                date_modified=now, modified_by=SYSTEM.actor))
            await self.management.tokens.revoke_client_tokens(client.id, now=now)
            await self.auditor.record(SYSTEM, "deactivation.complete", _entity(client),
                                      {**describe(plan), "dateToDelete": delete_at.isoformat()})
            await self._tell(client, Message(
                NoticeKind.deactivation_done,
                f"OAuth client {plan.client_name!r} deactivated",
                f"The OAuth client {plan.client_name!r} ({plan.client_id}) was deactivated as "
                f"planned ({plan.reason}); it is deleted at {delete_at:%Y-%m-%d %H:%M} UTC.",
                client_id=plan.client_id))
            done += 1
        return done

    async def _tell(self, client: Client, message: Message) -> None:
        recipients = await self.notifier.recipients(owner_id=client.settings.owner_id)
        await self.notifier.notify(recipients, message)


def _entity(client: Client) -> Entity:
    return Entity(ENTITY, client.id, client.settings.name)
