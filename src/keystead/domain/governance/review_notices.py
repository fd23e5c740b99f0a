"""What reviewers and campaign owners are told about access reviews: a notice (inbox and e-mail,
queued in the transaction of the change) beside the audit entry that records it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keystead.domain.audit import Auditor, JSONValue
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.governance.review_management import SYSTEM, campaign_entity
from keystead.domain.governance.reviews import Campaign, ReviewItem


class AuditTrailNotices:
    """The audit entry of each review notice (who was told what, and when): the evidence that
    reminders and escalations happened. ``NotifiedReviews`` also tells them."""

    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor

    async def _note(self, kind: str, campaign: Campaign, details: dict[str, JSONValue]) -> None:
        await self.auditor.record(SYSTEM, f"review.notice.{kind}", campaign_entity(campaign),
                                  details)

    async def assigned(self, campaign: Campaign, reviewer_id: str, items: int) -> None:
        await self._note("assigned", campaign, {"to": reviewer_id, "items": items})

    async def reminder(self, campaign: Campaign, reviewer_id: str, items: int) -> None:
        await self._note("reminder", campaign, {"to": reviewer_id, "items": items,
                                                "dueDate": campaign.due_at.isoformat()})

    async def escalated(self, campaign: Campaign, undecided: Sequence[ReviewItem]) -> None:
        await self._note("escalated", campaign, {"to": campaign.owner.id,
                                                 "items": len(undecided)})


@dataclass(slots=True)
class NotifiedReviews:
    """The ReviewNotices port: audited, then told."""

    trail: AuditTrailNotices
    notifier: Notifier

    async def assigned(self, campaign: Campaign, reviewer_id: str, items: int) -> None:
        await self.trail.assigned(campaign, reviewer_id, items)
        await self._tell([reviewer_id], Message(
            NoticeKind.review_assigned,
            f"Access review {campaign.name!r}: {items} client(s) to review",
            f"You review {items} OAuth client(s) in the access review {campaign.name!r} by "
            f"{campaign.due_at:%Y-%m-%d %H:%M} UTC: keep, reduce or retire each, with a comment "
            "(console: Reviews, My reviews)."))

    async def reminder(self, campaign: Campaign, reviewer_id: str, items: int) -> None:
        await self.trail.reminder(campaign, reviewer_id, items)
        await self._tell([reviewer_id], Message(
            NoticeKind.review_due,
            f"Access review {campaign.name!r} is due on {campaign.due_at:%Y-%m-%d}",
            f"Reminder: {items} OAuth client(s) still wait for your decision in the access "
            f"review {campaign.name!r}, due {campaign.due_at:%Y-%m-%d %H:%M} UTC."))

    async def escalated(self, campaign: Campaign, undecided: Sequence[ReviewItem]) -> None:
        await self.trail.escalated(campaign, undecided)
        if campaign.owner.kind != "user":
            return  # a campaign started by a client or the CLI has no inbox to tell
        names = ", ".join(sorted(item.client_name for item in undecided)[:20])
        await self._tell([campaign.owner.id], Message(
            NoticeKind.review_escalated,
            f"Access review {campaign.name!r}: {len(undecided)} client(s) not reviewed",
            f"The access review {campaign.name!r} reached its due date with "
            f"{len(undecided)} client(s) undecided: {names}."))

    async def _tell(self, user_ids: list[str], message: Message) -> None:
        recipients = await self.notifier.recipients(user_ids=user_ids)
        await self.notifier.notify(recipients, message)
