"""Access reviews: the seed's "quarterly scope review" and "annual security audit", run as
campaigns.

A campaign names the clients under review (a selection) and a due date; each selected client
becomes an item assigned to a reviewer (the client's owner while that user is active, else the
campaign's fallback reviewer). The reviewer decides keep, reduce or retire, with a comment; the
items, their decisions and who made them are the campaign's report. This module holds the shapes
and the ports; ``review_management.py`` holds the use cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from keystead.domain.clients import Actor, Client, ClientState
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.paging import Page

MAX_CAMPAIGN_NAME = 128
MAX_COMMENT = 2_000
MAX_SELECTED_IDS = 1_000
# A reviewer with an undecided item is reminded once, this long before the due date.
REMINDER_BEFORE = timedelta(days=3)
CAMPAIGN_ENTITY = "AccessReview"  # what audit entries about a campaign (and its items) name


class Decision(StrEnum):
    keep = "keep"      # attest: still needed, its scopes and roles are minimal
    reduce = "reduce"  # remove the chosen scopes and roles
    retire = "retire"  # stop it now; housekeeping deletes it after the retention period


class CampaignState(StrEnum):
    open = "open"
    closed = "closed"


class SelectionKind(StrEnum):
    """How a campaign chooses its clients (wire names)."""

    all = "all"
    tags = "tags"  # clients holding any of the tags
    environment = "environment"
    client_ids = "clientIds"
    finding_kind = "findingKind"  # clients with an active finding of that kind


@dataclass(frozen=True, slots=True)
class Selection:
    kind: SelectionKind
    values: tuple[str, ...] = ()  # tags, one environment, client ids or one finding kind

    def to_document(self) -> dict[str, object]:
        """The wire (and stored) form: one key, e.g. ``{"tags": ["payments"]}``."""
        if self.kind is SelectionKind.all:
            return {"all": True}
        if self.kind in (SelectionKind.environment, SelectionKind.finding_kind):
            return {self.kind.value: self.values[0]}
        return {self.kind.value: list(self.values)}

    def describe(self) -> str:
        """As people read it on a page or in the CLI."""
        if self.kind is SelectionKind.all:
            return "all clients"
        return f"{self.kind.value}: {', '.join(self.values)}"


def selection_from_document(document: object) -> Selection:
    """Read a selection: exactly one of ``all`` (true), ``tags`` (a list), ``environment``,
    ``clientIds`` (a list), ``findingKind``.

    Raises:
        InvalidInputError: anything else, naming ``selection`` and the rule.
    """
    known = ", ".join(k.value for k in SelectionKind)

    def bad(message: str, where: str = "selection") -> InvalidInputError:
        return InvalidInputError.one(where, "invalid.selection", message)

    if not isinstance(document, Mapping) or len(document) != 1:
        raise bad(f"selection must be an object with exactly one of: {known}; e.g. "
                  '{"all": true} or {"tags": ["payments"]}')
    ((key, value),) = document.items()
    try:
        kind = SelectionKind(key)
    except ValueError:
        raise bad(f"{key!r} is not a way to select clients; use one of: {known}") from None
    where = f"selection.{kind.value}"
    if kind is SelectionKind.all:
        if value is not True:
            raise bad("selection.all must be true", where)
        return Selection(kind)
    if kind in (SelectionKind.environment, SelectionKind.finding_kind):
        if not isinstance(value, str) or not value.strip():
            raise bad(f"{where} must be a non-empty text", where)
        return Selection(kind, (value.strip(),))
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value) or len(value) > MAX_SELECTED_IDS:
        raise bad(f"{where} must be a list of 1 to {MAX_SELECTED_IDS} non-empty texts", where)
    return Selection(kind, tuple(dict.fromkeys(v.strip() for v in value)))


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    due_at: datetime
    selection: Selection
    fallback_reviewer_id: str
    owner: Actor  # who started it: escalations go to them
    state: CampaignState
    created_at: datetime
    closed_at: datetime | None = None
    closed_reason: str = ""


@dataclass(frozen=True, slots=True)
class Removed:
    """What a ``reduce`` decision took from the client."""

    scopes: tuple[str, ...] = ()
    role_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    campaign_id: str
    client_id: str
    client_name: str  # as it was when the campaign started (the client may be deleted later)
    reviewer_id: str
    reviewer_name: str
    decision: Decision | None = None
    comment: str = ""
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    removed: Removed = field(default_factory=Removed)
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None

    @property
    def is_decided(self) -> bool:
        return self.decision is not None


@dataclass(frozen=True, slots=True)
class Progress:
    items: int
    decided: int


def selects(selection: Selection, client: Client, *, with_finding: frozenset[str]) -> bool:
    """True when ``client`` is under review by ``selection`` (inactive clients never are:
    they are already on their way to deletion)."""
    s = client.settings
    if s.state is ClientState.inactive:
        return False
    match selection.kind:
        case SelectionKind.all:
            return True
        case SelectionKind.tags:
            return bool(set(selection.values) & set(s.tags))
        case SelectionKind.environment:
            return s.environment is not None and s.environment.value == selection.values[0]
        case SelectionKind.client_ids:
            return client.id in selection.values
        case SelectionKind.finding_kind:
            return client.id in with_finding
    return False  # pragma: no cover - every kind is matched above


def check_campaign(name: str, due_at: datetime | None, *, now: datetime) -> list[Problem]:
    problems: list[Problem] = []
    if not 1 <= len(name.strip()) <= MAX_CAMPAIGN_NAME:
        problems.append(Problem("name", "length",
                                f"name is required, 1 to {MAX_CAMPAIGN_NAME} characters"))
    if due_at is None:
        problems.append(Problem("dueDate", "required",
                                "dueDate is required, e.g. 2026-12-31 or 2026-12-31T17:00:00Z"))
    elif due_at <= now:
        problems.append(Problem("dueDate", "in.past", "dueDate must be in the future"))
    return problems


def due_from_text(text: str) -> datetime:
    """A due date as typed: ``2026-12-31`` (its last second, 23:59:59 UTC) or an ISO-8601 instant
    (``2026-12-31T17:00:00Z``; without an offset, UTC).

    Raises:
        InvalidInputError: naming ``dueDate``.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError.one(
            "dueDate", "invalid.date",
            "dueDate must be a date (2026-12-31: the end of that UTC day) or an ISO-8601 "
            "instant (2026-12-31T17:00:00Z)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- ports


class CampaignStore(Protocol):
    async def add(self, campaign: Campaign) -> None: ...
    async def find(self, campaign_id: str) -> Campaign | None: ...
    async def newest_first(self, page: Page) -> tuple[Sequence[Campaign], int]: ...
    async def open_due_for_attention(self, now: datetime) -> Sequence[Campaign]:
        """Open campaigns whose reminder time (``REMINDER_BEFORE`` the due date) has come."""

    async def close(self, campaign_id: str, *, now: datetime, reason: str) -> bool:
        """Close an open campaign; False when it was closed already."""


class ReviewItemStore(Protocol):
    async def add_all(self, items: Sequence[ReviewItem]) -> None: ...
    async def of_campaign(self, campaign_id: str) -> Sequence[ReviewItem]: ...
    async def find(self, campaign_id: str, item_id: str) -> ReviewItem | None:
        """The item, locked until the transaction ends (it is about to be decided)."""

    async def assigned_to(self, user_id: str) -> Sequence[tuple[Campaign, ReviewItem]]:
        """The user's items in open campaigns, soonest due first."""

    async def save(self, item: ReviewItem) -> None:
        """Store the item's decision, reminder and escalation (its other fields never change)."""

    async def progress(self, campaign_ids: Sequence[str]) -> Mapping[str, Progress]: ...
    async def last_reviewed(self, client_id: str) -> datetime | None:
        """When a decision on ``client_id`` was last made, in any campaign (the findings
        engine's ``review-overdue`` kind reads this)."""

    async def last_reviewed_all(self, client_ids: Sequence[str]) -> Mapping[str, datetime]:
        """``last_reviewed`` of many clients in one read (those never reviewed are absent)."""


class FindingLookup(Protocol):
    """The findings engine, as campaigns select by finding kind (wired at merge)."""

    async def clients_with(self, kind: str) -> set[str]:
        """Ids of the clients with an active finding of ``kind``."""


class ReviewNotices(Protocol):
    """Tell people about their reviews (the notice outbox, once wired)."""

    async def assigned(self, campaign: Campaign, reviewer_id: str, items: int) -> None: ...
    async def reminder(self, campaign: Campaign, reviewer_id: str, items: int) -> None: ...
    async def escalated(self, campaign: Campaign, undecided: Sequence[ReviewItem]) -> None:
        """Undecided items reached the due date: tell the campaign's owner."""
