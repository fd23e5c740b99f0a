"""Notices to people: a console inbox entry per recipient, and an e-mail through the outbox.

``Notifier.notify`` runs inside the transaction of the change that causes the notice, so the
inbox entries and the queued e-mails commit with the change or not at all. Recipients are
users: a client's owner, and the admins holding the permission that lets them act on it.
A notice never carries a secret or a token: only names, ids, dates and reasons.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.clock import Clock
from keystead.domain.errors import NotFoundError
from keystead.domain.outbox import Outbox
from keystead.domain.paging import Page
from keystead.domain.principal import Caller

EMAIL = "email"  # the outbox channel of e-mailed notices


class NoticeKind(StrEnum):
    deletion_requested = "deletion.requested"
    deletion_approved = "deletion.approved"
    deletion_rejected = "deletion.rejected"
    deactivation_scheduled = "deactivation.scheduled"
    deactivation_cancelled = "deactivation.cancelled"
    deactivation_soon = "deactivation.soon"
    deactivation_done = "deactivation.done"
    review_assigned = "review.assigned"
    review_due = "review.due"
    review_escalated = "review.escalated"
    finding_opened = "finding.opened"
    rotation_due = "secret.rotation.due"
    webhook_disabled = "webhook.endpoint.disabled"
    alert_raised = "alert.raised"


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    recipient_id: str
    kind: NoticeKind
    subject: str
    body: str
    client_id: str | None
    created_at: datetime
    read_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user a notice can reach (active users only: a deactivated one reads no inbox)."""

    user_id: str
    email: str
    name: str


class NoticeStore(Protocol):
    async def add(self, notice: Notice) -> None: ...
    async def for_recipient(self, user_id: str, page: Page, *, unread_only: bool = False
                            ) -> tuple[Sequence[Notice], int]:
        """Newest first, and how many there are in all."""
    async def unread_count(self, user_id: str) -> int: ...
    async def mark_read(self, notice_id: str, *, user_id: str, now: datetime) -> Notice | None:
        """Mark the recipient's notice read (once: a second call keeps the first time);
        None if ``user_id`` has no such notice."""


class RecipientDirectory(Protocol):
    async def user(self, user_id: str) -> Recipient | None:
        """The active user ``user_id``; None if unknown or not active."""
    async def holders_of(self, permission: str) -> list[Recipient]:
        """Every active user whose roles grant ``permission``."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: NoticeKind
    subject: str
    body: str
    client_id: str | None = None


class NoticeEvents(Protocol):
    async def notice(self, message: Message) -> None:
        """Publish the notice as an event (webhooks), in the same transaction."""


@dataclass(slots=True)
class Notifier:
    """Write the notices of a change, in its transaction: inbox entries and queued e-mails."""

    notices: NoticeStore
    directory: RecipientDirectory
    outbox: Outbox
    clock: Clock
    email: bool  # False: no SMTP server configured, so nothing is queued for e-mail
    events: NoticeEvents | None = None  # webhook subscribers hear of every notice, once

    async def recipients(self, *, owner_id: str | None = None,
                         holders_of: str | None = None,
                         user_ids: Iterable[str] = ()) -> list[Recipient]:
        """The client's owner, the holders of a permission and the named users, once each."""
        found: dict[str, Recipient] = {}
        for user_id in [*([owner_id] if owner_id else []), *user_ids]:
            if user_id not in found and (user := await self.directory.user(user_id)):
                found[user_id] = user
        if holders_of:
            for user in await self.directory.holders_of(holders_of):
                found.setdefault(user.user_id, user)
        return list(found.values())

    async def owner_else(self, owner_id: str | None, permission: str) -> list[Recipient]:
        """The client's owner; without one (or an inactive one), the holders of
        ``permission``: those who act on what the notice is about."""
        found = await self.recipients(owner_id=owner_id)
        return found or await self.recipients(holders_of=permission)

    async def notify(self, recipients: Iterable[Recipient], message: Message) -> int:
        """Give each recipient the notice; return how many got it."""
        now = self.clock()
        count = 0
        for recipient in recipients:
            await self.notices.add(Notice(
                id=str(uuid.uuid4()), recipient_id=recipient.user_id, kind=message.kind,
                subject=message.subject, body=message.body, client_id=message.client_id,
                created_at=now))
            if self.email and recipient.email:
                await self.outbox.enqueue(EMAIL, {
                    "to": recipient.email, "subject": message.subject,
                    "body": f"Hello {recipient.name},\n\n{message.body}\n\n"
                            "-- Keystead (see your inbox in the console)"}, now=now)
            count += 1
        if self.events is not None:
            await self.events.notice(message)
        return count


@dataclass(slots=True)
class Inbox:
    """A user's own notices: read them, mark them read. No permission needed: only one's own."""

    notices: NoticeStore
    clock: Clock

    async def list(self, caller: Caller, page: Page, *, unread_only: bool = False
                   ) -> tuple[Sequence[Notice], int]:
        if caller.actor.kind != "user":
            return [], 0  # clients and the operator get no notices
        return await self.notices.for_recipient(caller.actor.id, page, unread_only=unread_only)

    async def unread(self, caller: Caller) -> int:
        if caller.actor.kind != "user":
            return 0
        return await self.notices.unread_count(caller.actor.id)

    async def mark_read(self, caller: Caller, notice_id: str) -> Notice:
        """Raises: NotFoundError when the caller has no such notice (others' are not seen)."""
        notice = None
        if caller.actor.kind == "user":
            notice = await self.notices.mark_read(notice_id, user_id=caller.actor.id,
                                                  now=self.clock())
        if notice is None:
            raise NotFoundError(f"no notice with id {notice_id}")
        return notice
