"""The organisation's governance policy: one object, defaults from the seed, every field checked.

The wire form (``to_document``/``policy_from_document``) is what ``GET|PUT
/api/v2/governance/policy``, the console and the CLI read and write, so its names are stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.clients import MAX_TOKEN_TTL, MIN_TOKEN_TTL, Actor, GrantType
from keystead.domain.clock import Clock
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.governance.retention import (
    RETENTION_RULES,
    RULES_BY_WIRE,
    default_retention,
)
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

MAX_LOOKBACK_DAYS = 365  # the longest window evidence is kept for (and a policy may ask for)


class UnreviewedAction(StrEnum):
    """What happens at a review campaign's due date to a client nobody decided on."""

    nothing = "nothing"
    disable = "disable"


def _default_token_ttls() -> dict[GrantType, int]:
    # The seed's figures: 1 day for services and SAML, its recommended 18 hours for code
    # clients, 1 hour for the legacy implicit grant (its tokens sit in a browser).
    return {GrantType.client_credentials: 86_400, GrantType.code: 64_800,
            GrantType.token: 3_600, GrantType.saml2_bearer: 86_400}


@dataclass(frozen=True, slots=True)
class Policy:
    """What the organisation asks of every client. Defaults follow the seed."""

    rotation_max_age_days: int = 30  # "rotate monthly minimum"
    unused_lookback_days: int = 90  # "verify still in use", "remove unused clients"
    max_token_ttl_seconds: Mapping[GrantType, int] = field(default_factory=_default_token_ttls)
    owner_required: bool = False  # "keep contact info for app owner": a finding until required
    description_required: bool = False  # "document each client's purpose"
    # On: every confidential CODE client must send PKCE whatever its own requirePkce says.
    # Off: the client's requirePkce decides (the Genesys SDK's code helper sends no PKCE).
    pkce_required: bool = False
    deletion_approval: bool = False  # "approval process recommended"
    deletion_request_ttl_days: int = 7
    review_period_days: int = 90  # "quarterly scope review"
    unreviewed_action: UnreviewedAction = UnreviewedAction.nothing
    # Production clients may not register loopback or http:// redirect URIs (refused on save).
    production_https_redirects_only: bool = False
    deactivation_notice_days: int = 14  # the owner is reminded this long before the date
    deactivation_retention_days: int = 15  # deactivated (day 365) -> deleted (day 380)
    # Per kind of record (domain/governance/retention.py): days kept, None for its default.
    retention_days: Mapping[str, int | None] = field(default_factory=default_retention)
    # Alerts (domain/governance/alert_rules.py; README "Alerts" explains each).
    alert_baseline_days: int = 14  # the days before today a client's baseline is made of
    alert_min_baseline_days: int = 7  # younger clients are not judged against a baseline
    alert_window_minutes: int = 60  # failed authentications are counted over this window
    alert_deviations: int = 3  # how many standard deviations above the mean is a spike
    alert_failure_minimum: int = 20  # fewer failures of a client in the window never alert
    alert_source_failure_minimum: int = 50  # the same, for one source address
    alert_volume_factor: int = 4  # tokens above mean x factor, or below mean / factor
    alert_volume_minimum: int = 10  # a client issued fewer a day on average is not judged
    alert_rare_actor_actions: int = 3  # fewer such changes in the baseline: a rare actor
    change_window_start_hour: int = 7  # UTC: client creation and secret regeneration are
    change_window_end_hour: int = 19  # expected from start to end (end excluded)
    change_window_weekdays_only: bool = True  # ... Monday to Friday


# wire name -> (attribute, lowest, highest): days, or the count the name says; booleans and
# enums are listed apart.
_DAY_FIELDS: dict[str, tuple[str, int, int]] = {
    "rotationMaxAgeDays": ("rotation_max_age_days", 1, MAX_LOOKBACK_DAYS),
    "unusedLookbackDays": ("unused_lookback_days", 1, MAX_LOOKBACK_DAYS),
    "deletionRequestTtlDays": ("deletion_request_ttl_days", 1, 90),
    "reviewPeriodDays": ("review_period_days", 1, MAX_LOOKBACK_DAYS),
    "deactivationNoticeDays": ("deactivation_notice_days", 0, 90),
    "deactivationRetentionDays": ("deactivation_retention_days", 0, MAX_LOOKBACK_DAYS),
    "alertBaselineDays": ("alert_baseline_days", 1, 90),
    "alertMinBaselineDays": ("alert_min_baseline_days", 1, 90),
    "alertWindowMinutes": ("alert_window_minutes", 5, 1440),
    "alertDeviations": ("alert_deviations", 1, 10),
    "alertFailureMinimum": ("alert_failure_minimum", 1, 1_000_000),
    "alertSourceFailureMinimum": ("alert_source_failure_minimum", 1, 1_000_000),
    "alertVolumeFactor": ("alert_volume_factor", 2, 1000),
    "alertVolumeMinimum": ("alert_volume_minimum", 1, 1_000_000),
    "alertRareActorActions": ("alert_rare_actor_actions", 0, 1000),
    "changeWindowStartHour": ("change_window_start_hour", 0, 23),
    "changeWindowEndHour": ("change_window_end_hour", 1, 24),
}
_FLAG_FIELDS: dict[str, str] = {
    "ownerRequired": "owner_required",
    "descriptionRequired": "description_required",
    "pkceRequired": "pkce_required",
    "deletionApproval": "deletion_approval",
    "productionHttpsRedirectsOnly": "production_https_redirects_only",
    "changeWindowWeekdaysOnly": "change_window_weekdays_only",
}
MAX_DURATIONS = "maxTokenDurationSeconds"
UNREVIEWED = "unreviewedAction"
WIRE_NAMES = frozenset({*_DAY_FIELDS, *_FLAG_FIELDS, MAX_DURATIONS, UNREVIEWED,
                        *RULES_BY_WIRE})


def to_document(policy: Policy) -> dict[str, JSONValue]:
    """The policy in its wire form (camelCase names, grant types by their Genesys names)."""
    document: dict[str, JSONValue] = {
        wire: getattr(policy, attr) for wire, (attr, _, _) in _DAY_FIELDS.items()}
    document.update({wire: getattr(policy, attr) for wire, attr in _FLAG_FIELDS.items()})
    document[MAX_DURATIONS] = {str(g): ttl for g, ttl in policy.max_token_ttl_seconds.items()}
    document[UNREVIEWED] = str(policy.unreviewed_action)
    document.update({rule.wire: policy.retention_days.get(rule.key, rule.default)
                     for rule in RETENTION_RULES})
    return document


def policy_from_document(document: Mapping[str, object], *, base: Policy | None = None
                         ) -> Policy:
    """Apply the given wire fields on ``base`` (the defaults when None); absent fields keep
    their value, so a PUT of one field changes that field only.

    Raises:
        InvalidInputError: an unknown field, a wrong type or a value out of range, each named.
    """
    policy = base or Policy()
    problems: list[Problem] = [
        Problem(name, "unknown.field", f"{name} is not a policy field; known: "
                f"{', '.join(sorted(WIRE_NAMES))}") for name in document if name not in WIRE_NAMES]
    changes: dict[str, object] = {}
    for wire, (attr, low, high) in _DAY_FIELDS.items():
        if wire in document:
            value = document[wire]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(Problem(wire, "out.of.range",
                                        f"{wire} must be a whole number from {low} to {high}"))
            else:
                changes[attr] = value
    for wire, attr in _FLAG_FIELDS.items():
        if wire in document:
            if isinstance(document[wire], bool):
                changes[attr] = document[wire]
            else:
                problems.append(Problem(wire, "not.boolean", f"{wire} must be true or false"))
    if UNREVIEWED in document:
        try:
            changes["unreviewed_action"] = UnreviewedAction(str(document[UNREVIEWED]))
        except ValueError:
            problems.append(Problem(UNREVIEWED, "unknown.value",
                                    f"{UNREVIEWED} must be one of: "
                                    f"{', '.join(a.value for a in UnreviewedAction)}"))
    if MAX_DURATIONS in document:
        ttls = _token_ttls(document[MAX_DURATIONS], policy.max_token_ttl_seconds, problems)
        if ttls is not None:
            changes["max_token_ttl_seconds"] = ttls
    retention = _retention(document, policy, changes, problems)
    if retention is not None:
        changes["retention_days"] = retention
    start = changes.get("change_window_start_hour", policy.change_window_start_hour)
    end = changes.get("change_window_end_hour", policy.change_window_end_hour)
    if isinstance(start, int) and isinstance(end, int) and start >= end:
        problems.append(Problem("changeWindowEndHour", "out.of.range",
                                "changeWindowEndHour must be after changeWindowStartHour "
                                "(whole UTC hours; the end hour is excluded)"))
    if problems:
        raise InvalidInputError(problems)
    return replace(policy, **changes)  # type: ignore[arg-type]


def _retention(document: Mapping[str, object], policy: Policy, changes: Mapping[str, object],
               problems: list[Problem]) -> dict[str, int | None] | None:
    """The retention fields given, on the policy's (None when none is given). Evidence is
    never kept shorter than the unused-client lookback reads it, whichever of the two moves."""
    days = dict(policy.retention_days)
    for rule in RETENTION_RULES:
        if rule.wire not in document:
            continue
        value = document[rule.wire]
        if value is None:
            days[rule.key] = rule.default
        elif isinstance(value, bool) or not isinstance(value, int) or not (
                rule.low <= value <= rule.high):
            problems.append(Problem(rule.wire, "out.of.range",
                                    f"{rule.wire} must be a whole number from {rule.low} to "
                                    f"{rule.high}, or null ({rule.unset})"))
        else:
            days[rule.key] = value
    # The lookback as it will be: the new value when valid (a bad one is refused on its own).
    lookback = changes.get("unused_lookback_days", policy.unused_lookback_days)
    evidence = days.get("evidence")
    if evidence is not None and isinstance(lookback, int) and evidence < lookback:
        problems.append(Problem("evidenceRetentionDays", "out.of.range",
                                f"evidenceRetentionDays must be at least unusedLookbackDays "
                                f"({lookback}): the unused-client finding reads that far back"))
    return days if any(rule.wire in document for rule in RETENTION_RULES) else None


def _token_ttls(value: object, current: Mapping[GrantType, int], problems: list[Problem]
                ) -> dict[GrantType, int] | None:
    if not isinstance(value, Mapping):
        problems.append(Problem(MAX_DURATIONS, "not.object",
                                f"{MAX_DURATIONS} maps grant types to seconds, e.g. "
                                '{"CLIENT-CREDENTIALS": 86400}'))
        return None
    ttls = dict(current)
    before = len(problems)
    for grant, seconds in value.items():
        try:
            ttls[GrantType(grant)] = seconds
        except ValueError:
            problems.append(Problem(MAX_DURATIONS, "unknown.grant",
                                    f"{grant!r} is not a grant type; known: "
                                    f"{', '.join(g.value for g in GrantType)}"))
            continue
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not (
                MIN_TOKEN_TTL <= seconds <= MAX_TOKEN_TTL):
            problems.append(Problem(MAX_DURATIONS, "out.of.range",
                                    f"the maximum for {grant} must be a whole number of seconds "
                                    f"from {MIN_TOKEN_TTL} to {MAX_TOKEN_TTL}"))
    return ttls if len(problems) == before else None


class PolicyStore(Protocol):
    async def find(self) -> Policy:
        """The organisation's policy; the defaults when it was never set."""

    async def save(self, policy: Policy, *, actor: Actor, now: datetime) -> None: ...


POLICY_ENTITY = Entity("GovernancePolicy", "organization", "Governance policy")


@dataclass(slots=True)
class PolicyManagement:
    """Read and change the policy; a change is audited with every old and new value."""

    policies: PolicyStore
    auditor: Auditor
    clock: Clock

    async def view(self, caller: Caller) -> Policy:
        """Raises: ForbiddenError without ``governance:policy:view``."""
        caller.require(Permission.GOVERNANCE_POLICY_VIEW)
        return await self.policies.find()

    async def update(self, caller: Caller, document: Mapping[str, object]) -> Policy:
        """Apply the given wire fields; the others keep their value.

        Raises:
            ForbiddenError: without ``governance:policy:edit``.
            InvalidInputError: a field is unknown or out of range (nothing is saved).
        """
        caller.require(Permission.GOVERNANCE_POLICY_EDIT)
        old = await self.policies.find()
        new = policy_from_document(document, base=old)
        changes = property_changes(to_document(old), to_document(new))
        if changes:
            await self.policies.save(new, actor=caller.actor, now=self.clock())
            await self.auditor.record(caller, "update", POLICY_ENTITY,
                                      {"propertyChanges": changes})
        return new
