"""The findings use cases: evaluate clients, list, archive, unarchive and apply a remedy.

Evaluation runs on a schedule (web/app.py), on demand and after a remedy. A remedy is an
ordinary client change through ClientManagement, made and audited in the admin's name, so it
needs the permission of that change (``oauth:client:edit``) besides ``governance:finding:edit``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Actor, Client, ClientFilter, ClientState, ClientStore
from keystead.domain.errors import InvalidInputError, require_found
from keystead.domain.governance.evidence import EvidenceQuery
from keystead.domain.governance.finding_rules import (
    ClientFacts,
    OwnerStatus,
    RoleFacts,
    detect,
    is_dev_redirect_uri,
)
from keystead.domain.governance.findings import (
    SEVERITY_RANK,
    DeliveryRecord,
    Detected,
    Finding,
    FindingFilter,
    FindingKind,
    FindingState,
    FindingStore,
    FindingSummary,
    Remedy,
    ReviewRecord,
    Severity,
)
from keystead.domain.governance.policy import Policy, PolicyStore
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.roles import RoleStore
from keystead.domain.users import UserState, UserStore

BATCH = 200  # clients read, and their evidence asked for, at a time
MAX_REASON = 512
EVALUATION = Entity("GovernanceFinding", "*", "Findings")
SYSTEM = Caller(Actor("system", "findings", "findings engine"), frozenset(),
                frozenset({Permission.GOVERNANCE_FINDING_EDIT}))


def _entity(finding: Finding) -> Entity:
    return Entity("GovernanceFinding", finding.id, f"{finding.kind} {finding.subject}".strip())


async def client_batches(clients: ClientStore, size: int) -> AsyncIterator[list[Client]]:
    """Every client, ``size`` at a time."""
    number = 1
    while True:
        page, total = await clients.search(ClientFilter(), Page(number, size))
        if page:
            yield list(page)
        if number * size >= total or not page:
            return
        number += 1


class FindingNotices(Protocol):
    async def opened(self, finding: Finding, client: Client) -> None:
        """``finding`` is new (or came back) on ``client``: tell its owner."""


def worth_telling(finding: Finding) -> bool:
    """A notice for a high or critical finding, and for a secret due for rotation (the seed's
    "rotate monthly" needs someone told); the rest wait on the findings page."""
    return (SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[Severity.high]
            or finding.kind is FindingKind.secret_rotation_due)


@dataclass(frozen=True, slots=True)
class Evaluated:
    clients: int
    opened: int  # new findings, and resolved ones that came back
    resolved: int


@dataclass(slots=True)
class FindingsManagement:
    findings: FindingStore
    clients: ClientStore
    roles: RoleStore
    users: UserStore
    evidence: EvidenceQuery
    policies: PolicyStore
    management: ClientManagement
    auditor: Auditor
    reviews: ReviewRecord | None = None  # None: no review record, review-overdue not judged
    # None: no delivery record, secret-delivery-failed not judged.
    deliveries: DeliveryRecord | None = None
    notices: FindingNotices | None = None  # who is told of a finding worth telling

    async def evaluate(self, caller: Caller, *, client_ids: Sequence[str] | None = None
                       ) -> Evaluated:
        """Evaluate the given clients (all when None) now; the run is audited once.

        Raises:
            ForbiddenError: without ``governance:finding:edit``.
            NotFoundError: a client asked for does not exist.
        """
        caller.require(Permission.GOVERNANCE_FINDING_EDIT)
        totals = await self._run(client_ids)
        await self.auditor.record(caller, "evaluate", EVALUATION, {
            "clients": totals.clients, "opened": totals.opened, "resolved": totals.resolved})
        return totals

    async def reevaluate(self, client_id: str) -> None:
        """Evaluate one client again right after a change to it (ClientManagement tells us).

        Not audited on its own: the change that caused it is, and each finding keeps when it
        was first seen, last seen and resolved.
        """
        await self._run([client_id])

    async def current(self) -> AsyncIterator[tuple[Client, list[Detected]]]:
        """Every client with what the rules find for it now, written nowhere (the live view
        the compliance report judges by). Not a use case on its own: no permission check."""
        policy, roles = await self._policy_and_roles()
        now = self.management.clock()
        async for batch in self._batches(None):
            for client, found in await self._detect(batch, roles, policy, now):
                yield client, found

    async def _policy_and_roles(self) -> tuple[Policy, dict[str, RoleFacts]]:
        return await self.policies.find(), {r.id: RoleFacts(r.id, r.name, tuple(r.permissions))
                                            for r in await self.roles.list()}

    async def _run(self, client_ids: Sequence[str] | None) -> Evaluated:
        policy, roles = await self._policy_and_roles()
        totals = Evaluated(0, 0, 0)
        async for batch in self._batches(client_ids):
            done = await self._evaluate_batch(batch, roles, policy)
            totals = Evaluated(totals.clients + done.clients, totals.opened + done.opened,
                               totals.resolved + done.resolved)
        return totals

    async def _batches(self, client_ids: Sequence[str] | None
                       ) -> AsyncIterator[list[Client]]:
        if client_ids is not None:
            found = [require_found(await self.clients.find(client_id),
                                   f"no OAuth client with id {client_id}")
                     for client_id in client_ids]
            for start in range(0, len(found), BATCH):
                yield found[start:start + BATCH]
            return
        async for batch in client_batches(self.clients, BATCH):
            yield batch

    async def _detect(self, batch: list[Client], roles: dict[str, RoleFacts], policy: Policy,
                      now: datetime) -> list[tuple[Client, list[Detected]]]:
        since = (now - timedelta(days=policy.unused_lookback_days)).date()
        evidence = await self.evidence.over([c.id for c in batch], since)
        reviewed = ({} if self.reviews is None
                    else await self.reviews.last_reviewed_all([c.id for c in batch]))
        failed = ({} if self.deliveries is None
                  else await self.deliveries.last_failures([c.id for c in batch]))
        found = []
        for client in batch:
            facts = ClientFacts(client, tuple(roles[rd.role_id] for rd in dict.fromkeys(
                client.settings.role_divisions) if rd.role_id in roles),
                await self._owner(client), last_reviewed=reviewed.get(client.id),
                reviews_known=self.reviews is not None,
                delivery_failure=failed.get(client.id))
            found.append((client, detect(facts, evidence[client.id], policy, now)))
        return found

    async def _evaluate_batch(self, batch: list[Client], roles: dict[str, RoleFacts],
                              policy: Policy) -> Evaluated:
        now = self.management.clock()
        stored: dict[str, dict[tuple[FindingKind, str], Finding]] = {}
        for finding in await self.findings.of_clients([c.id for c in batch]):
            stored.setdefault(finding.client_id, {})[finding.key] = finding
        opened = resolved = 0
        for client, detected in await self._detect(batch, roles, policy, now):
            found = {d.key: d for d in detected}
            before = stored.get(client.id, {})
            for key, detected_one in found.items():
                finding, reopened = self._merge(client, before.get(key), detected_one, now)
                opened += reopened
                await self.findings.save(finding)
                if reopened and self.notices is not None and worth_telling(finding):
                    await self.notices.opened(finding, client)
            for key, finding in before.items():
                if key not in found and finding.state is not FindingState.resolved:
                    resolved += 1
                    await self.findings.save(replace(finding, state=FindingState.resolved,
                                                     resolved_at=now))
        return Evaluated(len(batch), opened, resolved)

    @staticmethod
    def _merge(client: Client, old: Finding | None, found: Detected, now: datetime
               ) -> tuple[Finding, int]:
        if old is None:
            return Finding(str(uuid.uuid4()), client.id, found.kind, found.subject,
                           found.severity, FindingState.active, found.evidence,
                           found.recommendation, found.remedy, first_seen=now, last_seen=now,
                           client_name=client.settings.name), 1
        merged = replace(old, severity=found.severity, evidence=found.evidence,
                         recommendation=found.recommendation, remedy=found.remedy,
                         last_seen=now, client_name=client.settings.name)
        if old.state is not FindingState.resolved:
            return merged, 0
        # It came back: active again, whatever an admin accepted about its last occurrence.
        return replace(merged, state=FindingState.active, resolved_at=None, archived_reason=None,
                       archived_by=None, archived_at=None), 1

    async def _owner(self, client: Client) -> OwnerStatus:
        owner_id = client.settings.owner_id
        if owner_id is None:
            return OwnerStatus.none
        user = await self.users.find(owner_id)
        if user is None:
            return OwnerStatus.deleted
        return OwnerStatus.active if user.state == UserState.active else OwnerStatus.inactive

    async def search(self, caller: Caller, flt: FindingFilter, page: Page
                     ) -> tuple[list[Finding], int]:
        caller.require(Permission.GOVERNANCE_FINDING_VIEW)
        return await self.findings.search(flt, page)

    async def summary(self, caller: Caller, *, worst: int = 10) -> FindingSummary:
        caller.require(Permission.GOVERNANCE_FINDING_VIEW)
        return await self.findings.summary(worst=worst)

    async def find(self, caller: Caller, finding_id: str, *,
                   permission: Permission = Permission.GOVERNANCE_FINDING_VIEW) -> Finding:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(permission)
        return require_found(await self.findings.find(finding_id),
                             f"no finding with id {finding_id}")

    async def archive(self, caller: Caller, finding_id: str, reason: str) -> Finding:
        """Archive an active finding with the reason it is accepted; audited with the reason.

        Raises:
            ForbiddenError, NotFoundError; InvalidInputError: no reason, or not active.
        """
        finding = await self.find(caller, finding_id,
                                  permission=Permission.GOVERNANCE_FINDING_EDIT)
        reason = reason.strip()
        if not 1 <= len(reason) <= MAX_REASON:
            raise InvalidInputError.one("reason", "required", "say why the finding is "
                                        f"accepted: a reason of 1 to {MAX_REASON} characters")
        if finding.state is not FindingState.active:
            raise InvalidInputError.one("state", "not.active", f"the finding is {finding.state}"
                                        "; only an active finding can be archived")
        archived = replace(finding, state=FindingState.archived, archived_reason=reason,
                           archived_by=caller.actor, archived_at=self.management.clock())
        await self.findings.save(archived)
        await self.auditor.record(caller, "archive", _entity(finding),
                                  {"clientId": finding.client_id, "reason": reason})
        return archived

    async def unarchive(self, caller: Caller, finding_id: str) -> Finding:
        """Make an archived finding active again (the next evaluation resolves it if cleared).

        Raises:
            ForbiddenError, NotFoundError; InvalidInputError: not archived.
        """
        finding = await self.find(caller, finding_id,
                                  permission=Permission.GOVERNANCE_FINDING_EDIT)
        if finding.state is not FindingState.archived:
            raise InvalidInputError.one("state", "not.archived",
                                        f"the finding is {finding.state}, not archived")
        active = replace(finding, state=FindingState.active, archived_reason=None,
                         archived_by=None, archived_at=None)
        await self.findings.save(active)
        await self.auditor.record(caller, "unarchive", _entity(finding),
                                  {"clientId": finding.client_id,
                                   "archivedReason": finding.archived_reason})
        return active

    async def remedy(self, caller: Caller, finding_id: str) -> Finding:
        """Apply the finding's one-step remedy as ``caller``, then evaluate its client again.

        Raises:
            ForbiddenError: without ``governance:finding:edit`` or the change's permission.
            NotFoundError; InvalidInputError: no one-step remedy, or the finding is resolved.
        """
        finding = await self.find(caller, finding_id,
                                  permission=Permission.GOVERNANCE_FINDING_EDIT)
        caller.require(Permission.OAUTH_CLIENT_EDIT)
        if finding.remedy is None:
            raise InvalidInputError.one("remedy", "not.available",
                                        f"{finding.kind} has no one-step remedy: "
                                        f"{finding.remedy_description or finding.recommendation}")
        if finding.state is FindingState.resolved:
            raise InvalidInputError.one("state", "resolved",
                                        "the finding is resolved: there is nothing to fix")
        await self._apply(caller, finding)
        await self.auditor.record(caller, "remedy", _entity(finding),
                                  {"clientId": finding.client_id, "remedy": str(finding.remedy)})
        await self.evaluate(SYSTEM, client_ids=[finding.client_id])
        return await self.find(caller, finding_id)

    async def _apply(self, caller: Caller, finding: Finding) -> None:
        if finding.remedy is Remedy.expire_previous_secret:
            await self.management.expire_previous_secret(caller, finding.client_id)
            return
        client = await self.management.find(caller, finding.client_id,
                                            permission=Permission.OAUTH_CLIENT_EDIT)
        settings = client.settings
        if finding.remedy is Remedy.remove_scope:
            settings = replace(settings, scopes=tuple(
                s for s in settings.scopes if s != finding.subject))
        elif finding.remedy is Remedy.remove_role:
            settings = replace(settings, role_divisions=tuple(
                rd for rd in settings.role_divisions if rd.role_id != finding.subject))
        elif finding.remedy is Remedy.shorten_token_duration:
            limit = finding.evidence.get("policyMaxSeconds")
            if isinstance(limit, int):
                settings = replace(settings, token_ttl_seconds=limit)
        elif finding.remedy is Remedy.remove_dev_redirect_uris:
            settings = replace(settings, redirect_uris=tuple(
                u for u in settings.redirect_uris if not is_dev_redirect_uri(u)))
        elif finding.remedy is Remedy.disable_client:
            settings = replace(settings, state=ClientState.disabled)
        await self.management.update(caller, finding.client_id, settings)


def describe_evaluation(done: Evaluated) -> dict[str, JSONValue]:
    return {"clientsEvaluated": done.clients, "opened": done.opened, "resolved": done.resolved}
