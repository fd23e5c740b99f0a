"""Alerts: a change in a client's behaviour against its own recent baseline, or an event worth
someone's attention now (README "Alerts").

An alert is identified by its rule, its client (none for an organisation-wide one: a broken
audit chain, a source failing against many clients) and its subject (a source address, or
empty). Alerts are deduplicated: while one is open or acknowledged, a new occurrence of the
same rule, client and subject adds to its ``count`` instead of opening another. Only a resolved
alert lets the next occurrence open a new one. Acknowledging says someone is on it (it keeps
counting, without a new notice); resolving closes it.

Each new alert is a notice (kind ``alert.raised``) to the client's owner, else to those who act
on alerts. For other channels (webhooks) the event is ``alert_event(alert)``::

    {"type": "alert.raised", "id": "<alert id>", "rule": "failed-auth-spike",
     "severity": "high", "clientId": "<client id or null>", "clientName": "...",
     "subject": "<source address or null>", "count": 1, "summary": "...",
     "evidence": {...numbers, dates, names, networks: never a secret or a token...},
     "firstSeen": "2026-12-05T12:00:00Z", "selfUri": "/api/v2/governance/alerts/<id>"}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.audit import AuditEvent, JSONValue
from keystead.domain.clients import Actor
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.governance.findings import Severity, parse_choice
from keystead.domain.paging import Page

ALERTS_URI = "/api/v2/governance/alerts"
RAISED = "alert.raised"


class AlertRule(StrEnum):
    """The rules, by the names scripts filter on (README "Alerts")."""

    failed_auth_spike = "failed-auth-spike"
    failed_auth_source_spike = "failed-auth-source-spike"
    new_source_network = "new-source-network"
    token_volume_high = "token-volume-high"  # noqa: S105 - a name
    token_volume_low = "token-volume-low"  # noqa: S105 - a name
    unseen_scope = "unseen-scope"
    unusual_change = "unusual-change"
    privileges_added = "privileges-added"
    refresh_token_reuse = "refresh-token-reuse"  # noqa: S105 - a name
    audit_chain_broken = "audit-chain-broken"
    throttling_engaged = "throttling-engaged"


class AlertState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


@dataclass(frozen=True, slots=True)
class Raised:
    """What one rule saw in one evaluation. A condition (``events`` 0) counts once each time
    it starts to hold or its ``signature`` changes; an event rule counts its ``events``."""

    rule: AlertRule
    severity: Severity
    summary: str
    evidence: Mapping[str, JSONValue]
    client_id: str | None = None
    subject: str = ""
    signature: str = ""
    events: int = 0
    # The subject when ``client_id`` names no client (an unknown id tried from a source).
    subject_without_client: str = ""

    @property
    def key(self) -> tuple[AlertRule, str | None, str]:
        return (self.rule, self.client_id, self.subject)


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    rule: AlertRule
    client_id: str | None
    subject: str
    severity: Severity
    state: AlertState
    count: int
    summary: str
    evidence: Mapping[str, JSONValue]
    first_seen: datetime
    last_seen: datetime
    firing: bool  # the condition held at the last evaluation
    signature: str = ""
    acknowledged_by: Actor | None = None
    acknowledged_at: datetime | None = None
    resolved_by: Actor | None = None
    resolved_at: datetime | None = None
    client_name: str = ""  # filled in by the store on reads

    @property
    def key(self) -> tuple[AlertRule, str | None, str]:
        return (self.rule, self.client_id, self.subject)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    client_id: str | None = None
    rule: AlertRule | None = None
    state: AlertState | None = None


def alert_filter(params: Mapping[str, str]) -> AlertFilter:
    """The filter from wire parameters ``clientId``, ``rule`` and ``state``.

    Raises:
        InvalidInputError: an unknown rule or state, naming the known ones.
    """
    problems: list[Problem] = []
    rule = parse_choice(params, "rule", AlertRule, problems)
    state = parse_choice(params, "state", AlertState, problems)
    if problems:
        raise InvalidInputError(problems)
    return AlertFilter(client_id=params.get("clientId") or None, rule=rule, state=state)


def when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def alert_event(alert: Alert) -> dict[str, JSONValue]:
    """The ``alert.raised`` event of a new alert (see the module docstring): no secret."""
    return {"type": RAISED, "id": alert.id, "rule": str(alert.rule),
            "severity": str(alert.severity), "clientId": alert.client_id,
            "clientName": alert.client_name or None, "subject": alert.subject or None,
            "count": alert.count, "summary": alert.summary, "evidence": dict(alert.evidence),
            "firstSeen": when(alert.first_seen), "selfUri": f"{ALERTS_URI}/{alert.id}"}


class AlertStore(Protocol):
    async def unresolved(self) -> list[Alert]:
        """Every open or acknowledged alert (at most one per rule, client and subject)."""

    async def find(self, alert_id: str) -> Alert | None: ...
    async def save(self, alert: Alert) -> None:
        """Insert the alert, or replace the one with its id."""

    async def search(self, flt: AlertFilter, page: Page) -> tuple[list[Alert], int]:
        """Open before acknowledged before resolved, then newest first."""

    async def cursor(self) -> int | None:
        """The last audit entry (its sequence number) the evaluations have read; None before
        the first evaluation."""

    async def move_cursor(self, seq: int, *, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class FailureSpan:
    """Failed client authentications of one client id and source, summed over a window."""

    client_id: str  # as the audit log shows it (a prefix for an id that is no UUID)
    source: str
    count: int


class AuditFeed(Protocol):
    """What the alert rules read of the audit log (``store/alert_feed.py``)."""

    async def after(self, seq: int, actions: Sequence[str], *, limit: int,
                    since: datetime | None = None) -> list[tuple[int, AuditEvent]]:
        """Entries with one of ``actions`` after ``seq`` (and from ``since``, when given),
        oldest first, at most ``limit``."""

    async def head(self) -> int:
        """The newest entry's sequence number."""

    async def failures(self, start: datetime, end: datetime, *, client_ids: Sequence[str] = (),
                       sources: Sequence[str] = ()) -> list[FailureSpan]:
        """Failed client authentications (``authenticate`` failures, their counts summed) in
        ``(start, end]`` (so a window ending now holds what happened now), per client id and
        source; only the given ones when named."""

    async def actions_by(self, actor_id: str, actions: Sequence[str], start: datetime,
                         end: datetime, *, entity_type: str) -> int:
        """How many entries of ``actions`` on an ``entity_type`` ``actor_id`` made in
        ``[start, end)``."""
