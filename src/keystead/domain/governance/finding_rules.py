"""The findings rules: pure functions of a client's facts, its evidence, the policy and now.

``detect`` runs every rule and returns what holds today; the engine (finding_engine.py) turns
that into stored findings. ``review-overdue`` is judged only where access reviews are wired.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from keystead.domain.audit import JSONValue
from keystead.domain.clients import Client, ClientState, GrantType
from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.findings import Detected, FindingKind, Remedy, Severity
from keystead.domain.governance.policy import Policy
from keystead.domain.permissions import OAUTH_ADMIN, SUPER_ADMIN, Permission, grants

# Evidence keys under which implicit-grant tokens are counted (the recorder says "implicit").
IMPLICIT_KEYS = frozenset({"implicit", str(GrantType.token), "token"})
# The previous secret used in this last part of its dual-use window: the application has not
# switched to the new one and will break when the window closes.
LATE_IN_WINDOW = 0.25
# Holding any of these lets a client hand out power or change the rules: an administrator.
ADMIN_PERMISSIONS = (Permission.AUTHORIZATION_ROLE_EDIT, Permission.AUTHORIZATION_GRANT_ADD,
                     Permission.DIRECTORY_USER_EDIT, Permission.SSO_PROVIDER_EDIT,
                     Permission.GOVERNANCE_POLICY_EDIT)
ADMIN_ROLE_NAMES = frozenset({SUPER_ADMIN, OAUTH_ADMIN})
BROAD_SCOPES = frozenset({"authorization", "users", "identity-providers", "governance"})
DEV_HOSTS = frozenset({"localhost", "::1", "0.0.0.0"})  # noqa: S104 - a name compared, not bound


class OwnerStatus(StrEnum):
    none = "none"  # no owner set
    active = "active"
    inactive = "inactive"  # the owning user is deactivated
    deleted = "deleted"  # the owner id names no user any more


@dataclass(frozen=True, slots=True)
class RoleFacts:
    id: str
    name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What the rules read of one client besides its evidence."""

    client: Client
    roles: tuple[RoleFacts, ...] = ()
    owner: OwnerStatus = OwnerStatus.none
    # When an access review last decided on it; ``reviews_known`` False: no review record is
    # available, so review-overdue is not judged.
    last_reviewed: datetime | None = None
    reviews_known: bool = False
    # The latest delivery of its secret failed: when and why (None: delivered, or never tried).
    delivery_failure: tuple[datetime, str] | None = None


def _day(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _texts(values: Iterable[str]) -> list[JSONValue]:
    return list(values)


def _judged_on_use(facts: ClientFacts, policy: Policy, now: datetime) -> bool:
    """A client younger than the lookback window, or not active, is not judged on its use."""
    window = timedelta(days=policy.unused_lookback_days)
    return (facts.client.settings.state is ClientState.active
            and facts.client.date_created <= now - window)


def _has_detail(evidence: Evidence) -> bool:
    # Usage counts alone say how many tokens, not which scopes: only evidence that records the
    # scopes granted can show one unused (every token carries at least one scope).
    return evidence.tokens > 0 and bool(evidence.scopes_granted)


def unused_client(facts: ClientFacts, evidence: Evidence, policy: Policy,
                  now: datetime) -> list[Detected]:
    days = policy.unused_lookback_days
    last_used = facts.client.date_last_used
    # The secret's last use counts too: evidence may be off (KEYSTEAD_EVIDENCE_RECORDING) or
    # younger than the window (recorded only since an upgrade).
    if (not _judged_on_use(facts, policy, now) or evidence.tokens > 0
            or (last_used is not None and last_used >= now - timedelta(days=days))):
        return []
    return [Detected(
        FindingKind.unused_client, Severity.medium,
        {"tokensInWindow": 0, "lookbackDays": days,
         "windowStart": (now - timedelta(days=days)).date().isoformat(),
         "lastUsed": _day(facts.client.date_last_used),
         "dateCreated": _day(facts.client.date_created)},
        f"No token was issued to this client in the last {days} days: confirm with its "
        "owner that it is still needed, then disable it (and delete it later).",
        remedy=Remedy.disable_client)]


def unused_scopes(facts: ClientFacts, evidence: Evidence, policy: Policy,
                  now: datetime) -> list[Detected]:
    if not _judged_on_use(facts, policy, now) or not _has_detail(evidence):
        return []
    days = policy.unused_lookback_days
    return [Detected(
        FindingKind.unused_scope, Severity.low,
        {"scope": scope, "tokensInWindow": evidence.tokens, "lookbackDays": days,
         "scopesGranted": _texts(sorted(evidence.scopes_granted))},
        f"None of the {evidence.tokens} tokens issued in the last {days} days carried the "
        f"scope {scope!r}: remove it (least privilege).",
        subject=scope, remedy=Remedy.remove_scope)
        for scope in facts.client.settings.scopes if scope not in evidence.scopes_granted]


def unused_roles(facts: ClientFacts, evidence: Evidence, policy: Policy,
                 now: datetime) -> list[Detected]:
    client = facts.client
    if (not client.allows_grant(GrantType.client_credentials)
            or not _judged_on_use(facts, policy, now) or not _has_detail(evidence)):
        return []
    days = policy.unused_lookback_days
    exercised = sorted(evidence.permissions_exercised)
    return [Detected(
        FindingKind.unused_role, Severity.medium,
        {"roleId": role.id, "roleName": role.name, "permissions": _texts(role.permissions),
         "permissionsExercised": _texts(exercised), "lookbackDays": days},
        f"The client exercised none of the permissions of the role {role.name!r} in the last "
        f"{days} days: remove the role.", subject=role.id, remedy=Remedy.remove_role)
        for role in facts.roles
        if not any(grants(role.permissions, used) for used in exercised)]


def secret_rotation_due(facts: ClientFacts, _evidence: Evidence, policy: Policy,
                        now: datetime) -> list[Detected]:
    current = [s for s in facts.client.secrets if s.current]
    if not current:
        return []  # a public client has no secret
    secret = current[0]
    age = (now - secret.date_created).days
    limit = policy.rotation_max_age_days
    if age < limit:
        return []
    return [Detected(
        FindingKind.secret_rotation_due, Severity.high if age >= 2 * limit else Severity.medium,
        {"secretCreated": _day(secret.date_created), "ageDays": age, "maxAgeDays": limit,
         "lastUsed": _day(secret.date_last_used)},
        f"The client's secret is {age} days old; the policy asks for a new one every {limit} "
        "days. Regenerate it with a dual-use window and update the application.")]


def previous_secret_in_use(facts: ClientFacts, _evidence: Evidence, _policy: Policy,
                           now: datetime) -> list[Detected]:
    current = next((s for s in facts.client.secrets if s.current), None)
    found: list[Detected] = []
    for previous in facts.client.secrets:
        if (previous.current or current is None or previous.date_expires is None
                or previous.date_last_used is None or previous.date_expires <= now):
            continue
        rotated = current.date_created
        late_from = previous.date_expires - (previous.date_expires - rotated) * LATE_IN_WINDOW
        if previous.date_last_used >= late_from:
            found.append(Detected(
                FindingKind.previous_secret_in_use, Severity.high,
                {"rotatedAt": _day(rotated), "previousExpires": _day(previous.date_expires),
                 "previousLastUsed": _day(previous.date_last_used),
                 "lateFrom": _day(late_from)},
                "The application still authenticates with the previous secret, late in its "
                "dual-use window: it will fail when the window closes. Update it to the new "
                "secret, then expire the previous one."
                , remedy=Remedy.expire_previous_secret))
    return found[:1]


def ownership(facts: ClientFacts, _evidence: Evidence, policy: Policy,
              _now: datetime) -> list[Detected]:
    owner_id = facts.client.settings.owner_id
    if facts.owner is OwnerStatus.none or owner_id is None:
        return [Detected(
            FindingKind.no_owner, Severity.medium if policy.owner_required else Severity.low,
            {"ownerContact": facts.client.settings.owner_contact,
             "ownerRequired": policy.owner_required},
            "Nobody is answerable for this client: set its owner, who gets its notices and "
            "reviews it.")]
    if facts.owner is OwnerStatus.active:
        return []
    return [Detected(
        FindingKind.orphaned, Severity.high,
        {"ownerId": owner_id, "ownerStatus": str(facts.owner),
         "ownerContact": facts.client.settings.owner_contact},
        f"The client's owner is {facts.owner}: give it a new owner, or retire it if nobody "
        "needs it.")]


def is_admin_role(role: RoleFacts) -> bool:
    return role.name in ADMIN_ROLE_NAMES or any(
        grants(role.permissions, p) for p in ADMIN_PERMISSIONS)


def over_privileged(facts: ClientFacts, _evidence: Evidence, _policy: Policy,
                    _now: datetime) -> list[Detected]:
    if not facts.client.allows_grant(GrantType.client_credentials):
        return []
    admin_roles = [r for r in facts.roles if is_admin_role(r)]
    broad = sorted(BROAD_SCOPES & set(facts.client.settings.scopes))
    if not admin_roles and not broad:
        return []
    everything = any("*:*:*" in r.permissions for r in admin_roles)
    return [Detected(
        FindingKind.over_privileged, Severity.critical if everything else Severity.high,
        {"administrativeRoles": _texts(r.name for r in admin_roles),
         "broadScopes": _texts(broad)},
        "A service client holding administrative power is a standing key to the "
        "organisation: give it a role and scopes with only what it needs.")]


def token_duration(facts: ClientFacts, _evidence: Evidence, policy: Policy,
                   _now: datetime) -> list[Detected]:
    settings = facts.client.settings
    limits = {g: policy.max_token_ttl_seconds[g] for g in settings.grant_types
              if g in policy.max_token_ttl_seconds}
    if not limits:
        return []
    grant, limit = min(limits.items(), key=lambda item: item[1])
    if settings.token_ttl_seconds <= limit:
        return []
    return [Detected(
        FindingKind.token_duration_above_policy, Severity.medium,
        {"tokenDurationSeconds": settings.token_ttl_seconds, "policyMaxSeconds": limit,
         "grantType": str(grant)},
        f"Tokens live {settings.token_ttl_seconds} seconds; the policy allows {limit} for "
        f"{grant}: shorten the token duration.", remedy=Remedy.shorten_token_duration)]


def is_dev_redirect_uri(uri: str) -> bool:
    """``http://``, ``localhost``, loopback: an address for a developer's machine."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    return (parts.scheme == "http" or host in DEV_HOSTS or host.endswith(".localhost")
            or host.startswith("127."))


def dev_redirect_uris(facts: ClientFacts, _evidence: Evidence, _policy: Policy,
                      _now: datetime) -> list[Detected]:
    settings = facts.client.settings
    if str(settings.environment) != "production":
        return []
    dev = [uri for uri in settings.redirect_uris if is_dev_redirect_uri(uri)]
    if not dev:
        return []
    return [Detected(
        FindingKind.dev_redirect_uri_in_production, Severity.high,
        {"redirectUris": _texts(dev), "environment": "production"},
        "A production client sends users' codes to a development address: remove the "
        "localhost, loopback and http:// redirect URIs.",
        remedy=Remedy.remove_dev_redirect_uris)]


def implicit_in_use(facts: ClientFacts, evidence: Evidence, policy: Policy,
                    _now: datetime) -> list[Detected]:
    implicit = sum(n for grant, n in evidence.tokens_by_grant.items() if grant in IMPLICIT_KEYS)
    # Once TOKEN is removed the client cannot use it any more: fixed, whatever the window says.
    if implicit == 0 or not facts.client.allows_grant(GrantType.token):
        return []
    evidence_json: Mapping[str, JSONValue] = {
        "implicitTokens": implicit, "lookbackDays": policy.unused_lookback_days,
        "lastDay": evidence.last_day.isoformat() if evidence.last_day else None}
    return [Detected(
        FindingKind.implicit_in_use, Severity.high, evidence_json,
        f"{implicit} tokens were issued through the legacy implicit grant, which exposes them "
        "in the browser: move the application to CODE with PKCE and remove TOKEN.")]


def review_overdue(facts: ClientFacts, _evidence: Evidence, policy: Policy,
                   now: datetime) -> list[Detected]:
    if not facts.reviews_known or facts.client.settings.state is not ClientState.active:
        return []
    period = timedelta(days=policy.review_period_days)
    since = facts.last_reviewed or facts.client.date_created  # never reviewed: since creation
    if now - since <= period:
        return []
    return [Detected(
        FindingKind.review_overdue, Severity.medium,
        {"lastReviewed": _day(facts.last_reviewed), "dateCreated": _day(facts.client.date_created),
         "reviewPeriodDays": policy.review_period_days, "dueSince": _day(since + period)},
        f"Nobody has reviewed this client in the last {policy.review_period_days} days: include "
        "it in an access review campaign (its owner attests, reduces or retires it).")]


def secret_delivery_failed(facts: ClientFacts, _evidence: Evidence, _policy: Policy,
                           _now: datetime) -> list[Detected]:
    if facts.delivery_failure is None:
        return []
    at, error = facts.delivery_failure
    return [Detected(
        FindingKind.secret_delivery_failed, Severity.high,
        {"failedAt": at.isoformat().replace("+00:00", "Z"), "error": error},
        "The last delivery of this client's secret to its destination failed, so its secret "
        "was not rotated (the application keeps the one it has): fix the destination (the vault "
        "reachable, the path writable, the credentials valid), then rotate again with delivery.")]


Rule = Callable[[ClientFacts, Evidence, Policy, datetime], list[Detected]]
RULES: tuple[Rule, ...] = (unused_client, unused_scopes, unused_roles, secret_rotation_due,
                           previous_secret_in_use, ownership, over_privileged, token_duration,
                           dev_redirect_uris, implicit_in_use, review_overdue,
                           secret_delivery_failed)


def detect(facts: ClientFacts, evidence: Evidence, policy: Policy,
           now: datetime) -> list[Detected]:
    """Every finding that holds for the client now."""
    return [found for rule in RULES for found in rule(facts, evidence, policy, now)]
