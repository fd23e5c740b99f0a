"""The alert rules: pure functions of what a client did today against its own baseline, and of
the audit entries written since the last evaluation (README "Alerts" explains each).

Evidence is kept per UTC day, so baselines are daily: the days before today, at most the
policy's ``alertBaselineDays``, from the day after the client was created (a creation day is a
partial day). Failed authentications are also counted over the last ``alertWindowMinutes`` from
the audit log; their daily baseline is scaled down to that window.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from keystead.domain.audit import AuditEvent, JSONValue, Result
from keystead.domain.governance.alerts import AlertRule, Raised
from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.findings import Severity
from keystead.domain.governance.policy import Policy

CLIENT_ENTITY = "OAuthClient"
CHANGE_ACTIONS = ("create", "secret.regenerate")
PRIVILEGE_ACTIONS = {"scopes.change": "scopes", "roles.change": "roleDivisions"}
REUSE_ACTION = "refresh_token.reuse"
VERIFY_ACTION = "audit.verify"
AUTHENTICATE = "authenticate"
THROTTLED = "throttled"
EVENT_ACTIONS = (*CHANGE_ACTIONS, *PRIVILEGE_ACTIONS, REUSE_ACTION, VERIFY_ACTION, AUTHENTICATE)
MINUTES_A_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Baseline:
    mean: float
    stdev: float
    days: int

    def above(self, *, deviations: int, factor: float = 1.0) -> float:
        """The level a value must exceed to be far above this baseline."""
        return max(self.mean * factor, self.mean + deviations * self.stdev)


def baseline(values: Sequence[int]) -> Baseline:
    if not values:
        return Baseline(0.0, 0.0, 0)
    return Baseline(statistics.fmean(values), statistics.pstdev(values), len(values))


@dataclass(frozen=True, slots=True)
class ClientWindow:
    """One client's evidence for the rules: today so far, and each earlier day kept."""

    client_id: str
    created: datetime
    today: Evidence = field(default_factory=Evidence)
    days: Mapping[date, Evidence] = field(default_factory=dict)
    recent_failures: int = 0  # failed authentications in the last alertWindowMinutes

    def baseline_days(self, policy: Policy, before: date) -> list[Evidence]:
        """The evidence of each day in the baseline before ``before`` (empty days included)."""
        first = max(before - timedelta(days=policy.alert_baseline_days),
                    self.created.date() + timedelta(days=1))
        count = (before - first).days
        return [self.days.get(first + timedelta(days=n), Evidence()) for n in range(count)]


def _failures(evidence: Evidence) -> int:
    return sum(evidence.failures_by_reason.values())


def failed_auth_spike(window: ClientWindow, policy: Policy, now: datetime) -> list[Raised]:
    days = window.baseline_days(policy, now.date())
    scale = policy.alert_window_minutes / MINUTES_A_DAY
    usual = baseline([_failures(d) for d in days])
    level = max(float(policy.alert_failure_minimum),
                usual.above(deviations=policy.alert_deviations) * scale)
    if window.recent_failures < level:
        return []
    return [Raised(
        AlertRule.failed_auth_spike, Severity.high,
        f"{window.recent_failures} failed authentications in the last "
        f"{policy.alert_window_minutes} minutes, against a usual "
        f"{usual.mean * scale:.1f}: someone may be guessing the secret, or the application "
        "runs with an old one.",
        {"failures": window.recent_failures, "windowMinutes": policy.alert_window_minutes,
         "threshold": round(level, 1), "baselineMean": round(usual.mean * scale, 2),
         "baselineDays": usual.days},
        client_id=window.client_id)]


@dataclass(frozen=True, slots=True)
class FirstSeenRule:
    """Alert on values a client used today and never in a full baseline of days that used some
    (the networks it came from, the scopes it was granted)."""

    rule: AlertRule
    values: Callable[[Evidence], frozenset[str]]
    new_key: str
    known_key: str
    summary: str  # "{new}": today's new values; "{days}": the baseline's length

    def __call__(self, window: ClientWindow, policy: Policy, now: datetime) -> list[Raised]:
        days = window.baseline_days(policy, now.date())
        known = frozenset[str]().union(*(self.values(d) for d in days))
        new = sorted(self.values(window.today) - known)
        if len(days) < policy.alert_min_baseline_days or not known or not new:
            return []
        return [Raised(
            self.rule, Severity.medium, self.summary.format(new=", ".join(new), days=len(days)),
            {self.new_key: list[JSONValue](new), self.known_key: list[JSONValue](sorted(known)),
             "baselineDays": len(days)},
            client_id=window.client_id, signature=",".join(new))]


new_source_network = FirstSeenRule(
    AlertRule.new_source_network, lambda day: day.networks, "newNetworks", "knownNetworks",
    "Requests for this client came from {new}, never seen in its last {days} days: confirm "
    "the application moved, or look for a copied secret.")


def token_volume(window: ClientWindow, policy: Policy, now: datetime) -> list[Raised]:
    """Today so far far above the baseline, or yesterday (a whole day) far below its own."""
    found: list[Raised] = []
    today = now.date()
    days = window.baseline_days(policy, today)
    usual = baseline([d.tokens for d in days])
    level = usual.above(deviations=policy.alert_deviations, factor=policy.alert_volume_factor)
    if (len(days) >= policy.alert_min_baseline_days
            and usual.mean >= policy.alert_volume_minimum and window.today.tokens > level):
        found.append(Raised(
            AlertRule.token_volume_high, Severity.medium,
            f"{window.today.tokens} tokens issued today, against a usual {usual.mean:.0f} a "
            "day: a runaway integration, or a leaked secret in use.",
            {"tokens": window.today.tokens, "day": today.isoformat(),
             "baselineMean": round(usual.mean, 1), "baselineStdev": round(usual.stdev, 1),
             "threshold": round(level, 1), "baselineDays": usual.days},
            client_id=window.client_id, signature=today.isoformat()))
    yesterday = today - timedelta(days=1)
    days = window.baseline_days(policy, yesterday)
    usual = baseline([d.tokens for d in days])
    issued = window.days.get(yesterday, Evidence()).tokens
    level = min(usual.mean / policy.alert_volume_factor,
                usual.mean - policy.alert_deviations * usual.stdev)
    if (len(days) >= policy.alert_min_baseline_days
            and usual.mean >= policy.alert_volume_minimum and issued < max(level, 1)):
        found.append(Raised(
            AlertRule.token_volume_low, Severity.medium,
            f"{issued} tokens issued on {yesterday.isoformat()}, against a usual "
            f"{usual.mean:.0f} a day: the integration may have gone silent.",
            {"tokens": issued, "day": yesterday.isoformat(),
             "baselineMean": round(usual.mean, 1), "baselineStdev": round(usual.stdev, 1),
             "baselineDays": usual.days},
            client_id=window.client_id, signature=yesterday.isoformat()))
    return found


unseen_scope = FirstSeenRule(
    AlertRule.unseen_scope, lambda day: day.scopes_granted, "newScopes", "scopesUsed",
    "Tokens today carried {new}, which the client did not use in its last {days} days: "
    "confirm the application's change.")


CLIENT_RULES = (failed_auth_spike, new_source_network, token_volume, unseen_scope)


def detect_client(window: ClientWindow, policy: Policy, now: datetime) -> list[Raised]:
    """Every baseline rule that holds for the client now."""
    return [raised for rule in CLIENT_RULES for raised in rule(window, policy, now)]


def source_spikes(recent: Mapping[str, tuple[int, frozenset[str]]],
                  earlier: Mapping[str, int], policy: Policy) -> list[Raised]:
    """Sources failing far more in the window than their own average window over the
    baseline days. ``recent``: failures and the client ids tried, per source; ``earlier``:
    the source's failures over the baseline days before the window."""
    windows = policy.alert_baseline_days * MINUTES_A_DAY / policy.alert_window_minutes
    found = []
    for source, (count, client_ids) in sorted(recent.items()):
        usual = earlier.get(source, 0) / windows
        level = max(float(policy.alert_source_failure_minimum),
                    usual * policy.alert_volume_factor)
        if count >= level:
            found.append(Raised(
                AlertRule.failed_auth_source_spike, Severity.high,
                f"{count} failed client authentications from {source} in the last "
                f"{policy.alert_window_minutes} minutes, against {len(client_ids)} client id(s)"
                ": block the source if it is not yours.",
                {"source": source, "failures": count, "clientIds": list[JSONValue](
                    sorted(client_ids)[:20]), "threshold": round(level, 1),
                 "baselineMean": round(usual, 2)}, subject=source))
    return found


def in_change_window(at: datetime, policy: Policy) -> bool:
    if policy.change_window_weekdays_only and at.weekday() >= 5:
        return False
    return policy.change_window_start_hour <= at.hour < policy.change_window_end_hour


def unusual_change(event: AuditEvent, prior: int, policy: Policy) -> list[Raised]:
    """A client created or a secret regenerated outside the change window, or by an actor
    with fewer than ``alertRareActorActions`` such changes (``prior``) in the baseline."""
    reasons: list[JSONValue] = []
    if not in_change_window(event.timestamp, policy):
        reasons.append("outside-change-window")
    if prior < policy.alert_rare_actor_actions:
        reasons.append("rare-actor")
    if not reasons:
        return []
    what = "created" if event.action == "create" else "had its secret regenerated"
    return [Raised(
        AlertRule.unusual_change, Severity.medium,
        f"The client was {what} by {event.actor_name or event.actor_id} at "
        f"{event.timestamp.isoformat()} ({', '.join(str(r) for r in reasons)}): confirm "
        "the change was planned.",
        {"action": event.action, "actorKind": event.actor_kind, "actorId": event.actor_id,
         "actorName": event.actor_name, "at": event.timestamp.isoformat(), "reasons": reasons,
         "actorChangesInBaseline": prior}, client_id=event.entity_id, events=1)]


def _added(change: JSONValue) -> list[str]:
    if not isinstance(change, dict):
        return []
    old, new = change.get("old"), change.get("new")
    before = {str(v) for v in old} if isinstance(old, list) else set()
    return sorted(str(v) for v in new if str(v) not in before) if isinstance(new, list) else []


def event_alerts(event: AuditEvent) -> list[Raised]:
    """The alerts one audit entry raises by itself (every rule but ``unusual-change``)."""
    if event.action in PRIVILEGE_ACTIONS and event.entity_type == CLIENT_ENTITY:
        changes = event.details.get("propertyChanges")
        prop = PRIVILEGE_ACTIONS[event.action]
        added = _added(changes.get(prop) if isinstance(changes, dict) else None)
        if not added:
            return []
        what = "scopes" if prop == "scopes" else "roles"
        return [Raised(
            AlertRule.privileges_added, Severity.medium,
            f"{event.actor_name or event.actor_id} added {what} {', '.join(added)} to the "
            "client: confirm it needs them.",
            {"added": list[JSONValue](added), "property": prop, "actorId": event.actor_id,
             "actorName": event.actor_name, "at": event.timestamp.isoformat()},
            client_id=event.entity_id, events=1)]
    if event.action == REUSE_ACTION:
        return [Raised(
            AlertRule.refresh_token_reuse, Severity.high,
            "A rotated refresh token was presented again: a copy is loose. The grant was "
            "revoked; find where the application's tokens leaked.",
            {"familyId": event.details.get("familyId"), "userId": event.details.get("userId"),
             "source": event.remote_ip, "at": event.timestamp.isoformat()},
            client_id=event.entity_id, events=1)]
    if event.action == VERIFY_ACTION and event.result is Result.failure:
        return [Raised(
            AlertRule.audit_chain_broken, Severity.critical,
            "Verifying the audit log found entries edited, removed or reordered: restore it "
            "from a backup and find who had write access to the database.",
            {"problems": event.details.get("problems"), "first": event.details.get("first"),
             "at": event.timestamp.isoformat()}, events=1)]
    if (event.action == AUTHENTICATE and event.result is Result.failure
            and event.details.get("reason") == THROTTLED):
        count = event.details.get("count")
        return [Raised(
            AlertRule.throttling_engaged, Severity.medium,
            f"Authentication of {event.entity_id} from {event.remote_ip} was throttled after "
            "repeated failures: legitimate requests from there are refused too.",
            {"source": event.remote_ip, "refused": count if isinstance(count, int) else 1,
             "at": event.timestamp.isoformat()},
            client_id=event.entity_id, subject_without_client=event.remote_ip, events=1)]
    return []
