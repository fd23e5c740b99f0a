"""Access-review use cases: start a campaign, see it, decide its items, close it, report it, and
attend to it as its due date comes (reminders, escalation, the unreviewed action).

Every change runs in the caller's transaction with its audit entry. A decision that changes a
client (reduce, retire) is an ordinary client change made through ``ClientManagement`` by the
deciding user, so the client's own history shows it under their name.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Actor, Client, ClientFilter, ClientStore
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
    require_found,
)
from keystead.domain.governance.policy import PolicyStore, UnreviewedAction
from keystead.domain.governance.reviews import (
    CAMPAIGN_ENTITY,
    MAX_COMMENT,
    REMINDER_BEFORE,
    Campaign,
    CampaignState,
    CampaignStore,
    Decision,
    FindingLookup,
    Progress,
    Removed,
    ReviewItem,
    ReviewItemStore,
    ReviewNotices,
    Selection,
    SelectionKind,
    check_campaign,
    selects,
)
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.users import User, UserState

ALL_CLIENTS = Page(1, 10**6)
# Who acts when the due date comes: audited under this name.
SYSTEM = Caller(Actor("system", "access-reviews", "access reviews"), frozenset(),
                frozenset({Permission.OAUTH_CLIENT_EDIT, Permission.GOVERNANCE_REVIEW_EDIT}))


class UserDirectory(Protocol):
    """Who may review: ``UserStore`` answers this."""

    async def find(self, user_id: str) -> User | None: ...
    async def by_email(self, email: str) -> User | None: ...


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign and the items the caller may see (all of them, or only their own)."""

    campaign: Campaign
    items: Sequence[ReviewItem]
    progress: Progress
    partial: bool  # True: the caller sees only the items assigned to them
    # Each item's client as it is now (absent once deleted): what a reviewer decides on.
    clients: Mapping[str, Client]
    role_names: Mapping[str, str]  # role id -> name, for the roles those clients hold


@dataclass(frozen=True, slots=True)
class Attended:
    reminded: int = 0
    escalated: int = 0
    disabled: int = 0
    closed: int = 0


def campaign_entity(campaign: Campaign) -> Entity:
    return Entity(CAMPAIGN_ENTITY, campaign.id, campaign.name)


def _is_user(caller: Caller, user_id: str) -> bool:
    return caller.actor.kind == "user" and caller.actor.id == user_id


@dataclass(slots=True)
class ReviewManagement:
    campaigns: CampaignStore
    items: ReviewItemStore
    clients: ClientStore
    users: UserDirectory
    policies: PolicyStore
    management: ClientManagement
    auditor: Auditor
    notices: ReviewNotices
    clock: Clock
    findings: FindingLookup | None = None  # None until the findings engine is wired

    async def start(self, caller: Caller, *, name: str, due_at: datetime | None,
                    selection: Selection, fallback_reviewer_id: str) -> Campaign:
        """Start a campaign: one item per selected client, each assigned to its reviewer.

        Raises:
            ForbiddenError: without ``governance:review:add``.
            InvalidInputError: a bad name or due date, an unknown or inactive fallback
                reviewer, unknown client ids, no client selected, or selection by finding
                while no findings engine is wired (nothing is saved).
        """
        caller.require(Permission.GOVERNANCE_REVIEW_ADD)
        now = self.clock()
        problems = check_campaign(name, due_at, now=now)
        fallback = await self._user(fallback_reviewer_id.strip())
        if fallback is None or fallback.state != UserState.active:
            problems.append(Problem(
                "fallbackReviewerId", "unknown.user",
                "fallbackReviewerId must be the id (or e-mail address) of an active user: they "
                "review the clients that have no active owner"))
        if problems or due_at is None or fallback is None:  # (the last two are problems)
            raise InvalidInputError(problems)
        with_finding: frozenset[str] = frozenset()
        if selection.kind is SelectionKind.finding_kind:
            if self.findings is None:
                raise InvalidInputError.one(
                    "selection.findingKind", "not.available",
                    "selection by finding needs the findings engine; select all clients, by "
                    "tags, by environment or by clientIds instead")
            with_finding = frozenset(await self.findings.clients_with(selection.values[0]))
        found, _ = await self.clients.search(ClientFilter(), ALL_CLIENTS)
        if selection.kind is SelectionKind.client_ids:
            known = {c.id for c in found}
            if unknown := [i for i in selection.values if i not in known]:
                raise InvalidInputError.one("selection.clientIds", "unknown.client",
                                            f"no OAuth client with id {', '.join(unknown)}")
        chosen = [c for c in found if selects(selection, c, with_finding=with_finding)]
        if not chosen:
            raise InvalidInputError.one(
                "selection", "no.match",
                f"no active or disabled client matches {selection.describe()}; "
                "choose another selection")
        campaign = Campaign(id=str(uuid.uuid4()), name=name.strip(), due_at=due_at,
                            selection=selection, fallback_reviewer_id=fallback.id,
                            owner=caller.actor, state=CampaignState.open, created_at=now)
        reviewers: dict[str, User] = {}
        items: list[ReviewItem] = []
        for client in chosen:
            owner_id = client.settings.owner_id
            reviewer = reviewers.get(owner_id or "") or (
                await self.users.find(owner_id) if owner_id else None)
            if reviewer is None or reviewer.state != UserState.active:
                reviewer = fallback  # no owner, or an orphaned client
            reviewers[reviewer.id] = reviewer
            items.append(ReviewItem(id=str(uuid.uuid4()), campaign_id=campaign.id,
                                    client_id=client.id, client_name=client.settings.name,
                                    reviewer_id=reviewer.id, reviewer_name=reviewer.name))
        await self.campaigns.add(campaign)
        await self.items.add_all(items)
        await self.auditor.record(caller, "create", campaign_entity(campaign), {
            "dueDate": due_at.isoformat(), "selection": selection.describe(),
            "fallbackReviewerId": fallback.id, "items": len(items),
            "clientIds": [i.client_id for i in items]})
        per_reviewer: dict[str, int] = defaultdict(int)
        for item in items:
            per_reviewer[item.reviewer_id] += 1
        for reviewer_id, count in sorted(per_reviewer.items()):
            await self.notices.assigned(campaign, reviewer_id, count)
        return campaign

    async def summaries(self, caller: Caller, page: Page
                        ) -> tuple[Sequence[tuple[Campaign, Progress]], int]:
        """Campaigns, newest first, with how many items are decided.

        Raises:
            ForbiddenError: without ``governance:review:view``.
        """
        caller.require(Permission.GOVERNANCE_REVIEW_VIEW)
        found, total = await self.campaigns.newest_first(page)
        progress = await self.items.progress([c.id for c in found])
        return [(c, progress.get(c.id, Progress(0, 0))) for c in found], total

    async def view(self, caller: Caller, campaign_id: str) -> CampaignView:
        """A campaign with its items: all of them with ``governance:review:view``; a reviewer
        without it sees the campaign with only their own items.

        Raises:
            NotFoundError: no such campaign.
            ForbiddenError: neither the permission nor an item of the caller's in it.
        """
        campaign = await self._campaign(campaign_id)
        items = await self.items.of_campaign(campaign.id)
        progress = Progress(len(items), sum(1 for i in items if i.is_decided))
        partial = not caller.has_permission(Permission.GOVERNANCE_REVIEW_VIEW)
        if partial:
            items = [i for i in items if _is_user(caller, i.reviewer_id)]
            if not items:
                raise ForbiddenError(f"missing permission {Permission.GOVERNANCE_REVIEW_VIEW}")
        else:
            caller.require(Permission.GOVERNANCE_REVIEW_VIEW)
        clients = {}
        for item in items:
            if (client := await self.clients.find(item.client_id)) is not None:
                clients[client.id] = client
        role_names = await self.management.catalog.existing_roles(sorted(
            {rd.role_id for c in clients.values() for rd in c.settings.role_divisions}))
        return CampaignView(campaign, items, progress, partial, clients, role_names)

    async def assigned(self, caller: Caller) -> Sequence[tuple[Campaign, ReviewItem]]:
        """The caller's items in open campaigns (empty for a caller that is not a user)."""
        if caller.actor.kind != "user":
            return []
        return await self.items.assigned_to(caller.actor.id)

    async def decide(self, caller: Caller, campaign_id: str, item_id: str, *,
                     decision: str, comment: str, scopes: Sequence[str] = (),
                     role_ids: Sequence[str] = ()) -> ReviewItem:
        """Decide an item: keep (attest), reduce (remove ``scopes`` and ``role_ids`` from the
        client) or retire (make the client inactive; deleted after the policy's retention).

        The item's reviewer decides, or anyone holding ``governance:review:edit``. Reducing or
        retiring changes the client, which needs ``oauth:client:edit`` or owning it
        (``ClientManagement.reduce``).

        Raises:
            NotFoundError: no such campaign or item.
            ForbiddenError: not the reviewer and without ``governance:review:edit``; or not
                allowed to change the client.
            ConflictError: the campaign is closed or the item decided already.
            InvalidInputError: an unknown decision, no comment, or a reduce that removes
                nothing or something the client lacks (nothing is saved).
        """
        campaign = await self._campaign(campaign_id)
        item = await self.items.find(campaign.id, item_id)
        if item is None:
            raise NotFoundError(f"no item {item_id} in access review {campaign_id}")
        if not _is_user(caller, item.reviewer_id):
            caller.require(Permission.GOVERNANCE_REVIEW_EDIT)
        try:
            chosen = Decision(decision)
        except ValueError:
            raise InvalidInputError.one(
                "decision", "invalid.value",
                f"decision must be one of: {', '.join(d.value for d in Decision)}") from None
        comment = comment.strip()
        if not 1 <= len(comment) <= MAX_COMMENT:
            raise InvalidInputError.one(
                "comment", "required",
                f"comment is required (1 to {MAX_COMMENT} characters): say why, for the "
                "auditor who reads the report")
        if chosen is not Decision.reduce and (scopes or role_ids):
            raise InvalidInputError.one("scopes", "not.applicable",
                                        "scopes and roleIds are removed only by a reduce "
                                        "decision")
        if campaign.state is not CampaignState.open:
            raise ConflictError(f"access review {campaign.name!r} is closed")
        if item.is_decided:
            raise ConflictError(f"the review of {item.client_name!r} was decided already")
        reason = f"access review {campaign.name!r}: {chosen.value}"
        removed = Removed()
        if chosen is Decision.reduce:
            unique_scopes = tuple(dict.fromkeys(scopes))
            unique_roles = tuple(dict.fromkeys(role_ids))
            await self.management.reduce(caller, item.client_id, scopes=unique_scopes,
                                         role_ids=unique_roles, reason=reason)
            removed = Removed(unique_scopes, unique_roles)
        elif chosen is Decision.retire:
            policy = await self.policies.find()
            await self.management.retire(
                caller, item.client_id,
                retention=timedelta(days=policy.deactivation_retention_days), reason=reason)
        decided = replace(item, decision=chosen, comment=comment, decided_by=caller.actor,
                          decided_at=self.clock(), removed=removed)
        await self.items.save(decided)
        await self.auditor.record(caller, "review.decide", campaign_entity(campaign), {
            "itemId": item.id, "clientId": item.client_id, "decision": chosen.value,
            "comment": comment, "removedScopes": list(removed.scopes),
            "removedRoleIds": list(removed.role_ids)})
        return decided

    async def close(self, caller: Caller, campaign_id: str) -> Campaign:
        """Close a campaign early or after its due date: undecided items stay undecided.

        Raises:
            NotFoundError: no such campaign.
            ForbiddenError: not the campaign's owner and without ``governance:review:edit``.
            ConflictError: closed already.
        """
        campaign = await self._campaign(campaign_id)
        if campaign.owner != caller.actor:
            caller.require(Permission.GOVERNANCE_REVIEW_EDIT)
        return await self._close(caller, campaign, reason="closed by "
                                 f"{caller.actor.name or caller.actor.id}")

    async def report(self, caller: Caller, campaign_id: str
                     ) -> tuple[Campaign, Sequence[ReviewItem]]:
        """Every item with its decision: evidence for an auditor.

        Raises:
            NotFoundError, ForbiddenError: as ``view`` (a reviewer sees their own rows).
        """
        seen = await self.view(caller, campaign_id)
        return seen.campaign, seen.items

    async def attend(self) -> Attended:
        """What the due dates ask now, for every open campaign: remind each reviewer of their
        undecided items once, ``REMINDER_BEFORE`` the due date; at the due date escalate the
        undecided items to the campaign's owner, disable their clients when the policy's
        ``unreviewedAction`` says so, and close the campaign."""
        now = self.clock()
        done = Attended()
        policy = await self.policies.find()
        for campaign in await self.campaigns.open_due_for_attention(now):
            undecided = [i for i in await self.items.of_campaign(campaign.id)
                         if not i.is_decided]
            if now < campaign.due_at:
                done = replace(done, reminded=done.reminded + await self._remind(
                    campaign, [i for i in undecided if i.reminded_at is None], now))
                continue
            for item in undecided:
                await self.items.save(replace(item, escalated_at=now))
            if undecided:
                await self.notices.escalated(campaign, undecided)
                # dict(): a copy mypy types as a JSON object, which dict[str, str] is not.
                await self.auditor.record(SYSTEM, "review.escalate", campaign_entity(campaign), {
                    "to": dict(campaign.owner.as_json()),
                    "clientIds": [i.client_id for i in undecided]})
            disabled = 0
            if policy.unreviewed_action is UnreviewedAction.disable:
                due = campaign.due_at.date().isoformat()
                for item in undecided:
                    if await self.clients.find(item.client_id) is not None:
                        await self.management.disable(SYSTEM, item.client_id,
                                                      reason=f"not reviewed by {due}")
                        disabled += 1
            await self._close(SYSTEM, campaign, reason="due date reached")
            done = replace(done, escalated=done.escalated + len(undecided),
                           disabled=done.disabled + disabled, closed=done.closed + 1)
        return done

    async def _remind(self, campaign: Campaign, items: Sequence[ReviewItem],
                      now: datetime) -> int:
        per_reviewer: dict[str, int] = defaultdict(int)
        for item in items:
            await self.items.save(replace(item, reminded_at=now))
            per_reviewer[item.reviewer_id] += 1
        for reviewer_id, count in sorted(per_reviewer.items()):
            await self.notices.reminder(campaign, reviewer_id, count)
        if items:
            reviewer_ids: list[JSONValue] = [*sorted(per_reviewer)]
            await self.auditor.record(SYSTEM, "review.remind", campaign_entity(campaign), {
                "reviewerIds": reviewer_ids, "items": len(items)})
        return len(items)

    async def _close(self, caller: Caller, campaign: Campaign, *, reason: str) -> Campaign:
        if campaign.state is CampaignState.closed or not await self.campaigns.close(
                campaign.id, now=self.clock(), reason=reason):
            raise ConflictError(f"access review {campaign.name!r} is closed already")
        await self.auditor.record(caller, "close", campaign_entity(campaign), {"reason": reason})
        return replace(campaign, state=CampaignState.closed, closed_at=self.clock(),
                       closed_reason=reason)

    async def _user(self, id_or_email: str) -> User | None:
        if not id_or_email:
            return None
        if "@" in id_or_email:
            return await self.users.by_email(id_or_email)
        return await self.users.find(id_or_email)

    async def _campaign(self, campaign_id: str) -> Campaign:
        return require_found(await self.campaigns.find(campaign_id),
                             f"no access review with id {campaign_id}")


__all__ = [
    "REMINDER_BEFORE",
    "SYSTEM",
    "Attended",
    "CampaignView",
    "ReviewManagement",
    "UserDirectory",
    "campaign_entity",
]
