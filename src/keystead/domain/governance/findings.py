"""Findings: what governance found wrong with a client, with its evidence and the fix.

A finding is identified by its client, its kind and its subject (a scope name, a role id, or
empty for the client as a whole), so evaluating again updates the same finding: it stays
*active* while its condition holds, becomes *resolved* when the condition clears, and *active*
again when it comes back. An admin may *archive* one with a reason (accepted risk); it then
stays archived while the condition holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from keystead.domain.audit import JSONValue
from keystead.domain.clients import Actor
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.paging import Page

E = TypeVar("E", bound=StrEnum)


class FindingKind(StrEnum):
    """The kinds, by the names scripts filter on (README "Findings")."""

    unused_client = "unused-client"
    unused_scope = "unused-scope"
    unused_role = "unused-role"
    secret_rotation_due = "secret-rotation-due"  # noqa: S105 - a name
    previous_secret_in_use = "previous-secret-in-use"  # noqa: S105 - a name
    no_owner = "no-owner"
    orphaned = "orphaned"
    over_privileged = "over-privileged"
    token_duration_above_policy = "token-duration-above-policy"  # noqa: S105 - a name
    dev_redirect_uri_in_production = "dev-redirect-uri-in-production"
    implicit_in_use = "implicit-in-use"
    # Judged from the access reviews' record of each client's last decision (ReviewRecord).
    review_overdue = "review-overdue"
    # Judged from the last delivery of the client's secret to its destination (DeliveryRecord).
    secret_delivery_failed = "secret-delivery-failed"  # noqa: S105 - a name


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK: Mapping[Severity, int] = {
    Severity.low: 1, Severity.medium: 2, Severity.high: 3, Severity.critical: 4}


class FindingState(StrEnum):
    active = "active"
    resolved = "resolved"
    archived = "archived"


class Remedy(StrEnum):
    """The one-step fixes: each is an ordinary audited change to the client."""

    remove_scope = "remove-scope"
    remove_role = "remove-role"
    shorten_token_duration = "shorten-token-duration"  # noqa: S105 - a name
    remove_dev_redirect_uris = "remove-dev-redirect-uris"
    disable_client = "disable-client"
    expire_previous_secret = "expire-previous-secret"  # noqa: S105 - a name


REMEDY_DESCRIPTIONS: Mapping[Remedy, str] = {
    Remedy.remove_scope: "Remove the unused scope from the client",
    Remedy.remove_role: "Remove the unused role from the client",
    Remedy.shorten_token_duration: "Shorten the token duration to the policy's maximum",
    Remedy.remove_dev_redirect_uris: "Remove the development redirect URIs",
    Remedy.disable_client: "Disable the client (its tokens stop working at once)",
    Remedy.expire_previous_secret: "Expire the previous secret now",
}
# Kinds whose fix is not one step: what to do instead.
MANUAL_REMEDIES: Mapping[FindingKind, str] = {
    FindingKind.secret_rotation_due: "Regenerate the secret (POST /api/v2/oauth/clients/{id}/"
                                     "secret, or the client's page) and update the application",
    FindingKind.no_owner: "Set the client's owner",
    FindingKind.orphaned: "Give the client a new owner who is an active user",
    FindingKind.over_privileged: "Give the client a role with only the permissions it needs",
    FindingKind.implicit_in_use: "Move the application to CODE with PKCE, then remove TOKEN",
    FindingKind.review_overdue: "Include the client in an access review campaign",
}


@dataclass(frozen=True, slots=True)
class Detected:
    """What one rule found for one client: the facts of a finding, without its history."""

    kind: FindingKind
    severity: Severity
    evidence: Mapping[str, JSONValue]
    recommendation: str
    subject: str = ""  # a scope name or role id; empty when the finding is about the client
    remedy: Remedy | None = None

    @property
    def key(self) -> tuple[FindingKind, str]:
        return (self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding as stored: the detected facts, its state and when it was seen."""

    id: str
    client_id: str
    kind: FindingKind
    subject: str
    severity: Severity
    state: FindingState
    evidence: Mapping[str, JSONValue]
    recommendation: str
    remedy: Remedy | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    archived_reason: str | None = None
    archived_by: Actor | None = None
    archived_at: datetime | None = None
    client_name: str = ""  # filled in by the store on reads, for listings

    @property
    def key(self) -> tuple[FindingKind, str]:
        return (self.kind, self.subject)

    @property
    def remedy_description(self) -> str:
        if self.remedy is not None:
            return REMEDY_DESCRIPTIONS[self.remedy]
        return MANUAL_REMEDIES.get(self.kind, "")


@dataclass(frozen=True, slots=True)
class FindingFilter:
    client_id: str | None = None
    kind: FindingKind | None = None
    state: FindingState | None = None


@dataclass(frozen=True, slots=True)
class FindingSummary:
    """The dashboard's view: active findings by kind and severity, and the worst clients."""

    by_kind: Mapping[FindingKind, int]
    by_severity: Mapping[Severity, int]
    worst_clients: Sequence[tuple[str, str, int, Severity]]  # id, name, count, worst severity


def parse_choice(params: Mapping[str, str], name: str, choices: type[E],
                 problems: list[Problem]) -> E | None:
    """The wire parameter ``name`` as one of ``choices``; None when absent. An unknown value
    adds a problem naming the known ones."""
    if name not in params:
        return None
    try:
        return choices(params[name])
    except ValueError:
        problems.append(Problem(name, "unknown.value", f"{name} must be one of: " +
                                ", ".join(c.value for c in choices)))
        return None


def finding_filter(params: Mapping[str, str]) -> FindingFilter:
    """The filter from wire parameters ``clientId``, ``kind`` and ``state``.

    Raises:
        InvalidInputError: an unknown kind or state, naming the known ones.
    """
    problems: list[Problem] = []
    kind = parse_choice(params, "kind", FindingKind, problems)
    state = parse_choice(params, "state", FindingState, problems)
    if problems:
        raise InvalidInputError(problems)
    return FindingFilter(client_id=params.get("clientId") or None, kind=kind, state=state)


class FindingStore(Protocol):
    async def of_clients(self, client_ids: Sequence[str]) -> list[Finding]:
        """Every finding (any state) of the given clients."""

    async def find(self, finding_id: str) -> Finding | None: ...
    async def save(self, finding: Finding) -> None:
        """Insert the finding, or replace the one with its id."""

    async def search(self, flt: FindingFilter, page: Page) -> tuple[list[Finding], int]:
        """Worst first: active before archived before resolved, then by severity."""

    async def summary(self, *, worst: int) -> FindingSummary: ...
    async def clients_with(self, kind: str) -> set[str]:
        """Ids of the clients with an active finding of ``kind`` (access reviews select by it)."""


class DeliveryRecord(Protocol):
    async def last_failures(self, client_ids: Sequence[str]
                            ) -> Mapping[str, tuple[datetime, str]]:
        """For each client whose latest secret delivery failed: when, and why (a delivered
        one since, or none ever tried: absent)."""


class ReviewRecord(Protocol):
    async def last_reviewed_all(self, client_ids: Sequence[str]) -> Mapping[str, datetime]:
        """When an access review last decided on each client (never reviewed: absent)."""
