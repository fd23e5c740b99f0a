"""Permissions (``domain:entity:action``), the catalogue, built-in roles, and matching."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# domain -> entity -> actions; the catalogue served at /api/v2/authorization/permissions.
CATALOGUE: dict[str, dict[str, tuple[str, ...]]] = {
    "oauth": {
        "client": ("add", "view", "edit", "delete", "authorize"),
        "scope": ("add", "view", "edit", "delete"),
    },
    "authorization": {
        "role": ("add", "view", "edit", "delete"),
        "division": ("add", "view", "edit", "delete"),
        "grant": ("add", "view", "delete"),
    },
    "audits": {"audit": ("view",)},
    # export: everything held about a user (right of access); erase: remove them everywhere,
    # the audit log included (domain/subject_rights.py), apart from delete on purpose.
    "directory": {"user": ("add", "view", "edit", "delete", "export", "erase")},
    "sso": {"provider": ("add", "view", "edit", "delete")},
    # Governance: the policy; findings (edit: evaluate, archive, unarchive); alerts (edit:
    # evaluate, acknowledge, resolve); review campaigns
    # (add: start, edit: cancel or close; reviewers decide on the items assigned to them).
    "governance": {
        "policy": ("view", "edit"),
        "finding": ("view", "edit"),
        "alert": ("view", "edit"),
        "review": ("add", "view", "edit"),
        # Webhook endpoints (edit: enable, redeliver; the delivery log is view).
        "webhook": ("add", "view", "edit", "delete"),
        "compliance": ("view",),  # the compliance report
    },
}


class Permission(StrEnum):
    """Every permission of the catalogue by name, for the checks the use cases make
    (``tests/domain/test_permissions.py`` holds the two in step)."""

    OAUTH_CLIENT_ADD = "oauth:client:add"
    OAUTH_CLIENT_VIEW = "oauth:client:view"
    OAUTH_CLIENT_EDIT = "oauth:client:edit"
    OAUTH_CLIENT_DELETE = "oauth:client:delete"
    OAUTH_CLIENT_AUTHORIZE = "oauth:client:authorize"
    OAUTH_SCOPE_ADD = "oauth:scope:add"
    OAUTH_SCOPE_VIEW = "oauth:scope:view"
    OAUTH_SCOPE_EDIT = "oauth:scope:edit"
    OAUTH_SCOPE_DELETE = "oauth:scope:delete"
    AUTHORIZATION_ROLE_ADD = "authorization:role:add"
    AUTHORIZATION_ROLE_VIEW = "authorization:role:view"
    AUTHORIZATION_ROLE_EDIT = "authorization:role:edit"
    AUTHORIZATION_ROLE_DELETE = "authorization:role:delete"
    AUTHORIZATION_DIVISION_ADD = "authorization:division:add"
    AUTHORIZATION_DIVISION_VIEW = "authorization:division:view"
    AUTHORIZATION_DIVISION_EDIT = "authorization:division:edit"
    AUTHORIZATION_DIVISION_DELETE = "authorization:division:delete"
    AUTHORIZATION_GRANT_ADD = "authorization:grant:add"
    AUTHORIZATION_GRANT_VIEW = "authorization:grant:view"
    AUTHORIZATION_GRANT_DELETE = "authorization:grant:delete"
    AUDITS_AUDIT_VIEW = "audits:audit:view"
    DIRECTORY_USER_ADD = "directory:user:add"
    DIRECTORY_USER_VIEW = "directory:user:view"
    DIRECTORY_USER_EDIT = "directory:user:edit"
    DIRECTORY_USER_DELETE = "directory:user:delete"
    DIRECTORY_USER_EXPORT = "directory:user:export"
    DIRECTORY_USER_ERASE = "directory:user:erase"
    SSO_PROVIDER_ADD = "sso:provider:add"
    SSO_PROVIDER_VIEW = "sso:provider:view"
    SSO_PROVIDER_EDIT = "sso:provider:edit"
    SSO_PROVIDER_DELETE = "sso:provider:delete"
    GOVERNANCE_POLICY_VIEW = "governance:policy:view"
    GOVERNANCE_POLICY_EDIT = "governance:policy:edit"
    GOVERNANCE_FINDING_VIEW = "governance:finding:view"
    GOVERNANCE_FINDING_EDIT = "governance:finding:edit"
    GOVERNANCE_ALERT_VIEW = "governance:alert:view"
    GOVERNANCE_ALERT_EDIT = "governance:alert:edit"
    GOVERNANCE_REVIEW_ADD = "governance:review:add"
    GOVERNANCE_REVIEW_VIEW = "governance:review:view"
    GOVERNANCE_REVIEW_EDIT = "governance:review:edit"
    GOVERNANCE_WEBHOOK_ADD = "governance:webhook:add"
    GOVERNANCE_WEBHOOK_VIEW = "governance:webhook:view"
    GOVERNANCE_WEBHOOK_EDIT = "governance:webhook:edit"
    GOVERNANCE_WEBHOOK_DELETE = "governance:webhook:delete"
    GOVERNANCE_COMPLIANCE_VIEW = "governance:compliance:view"


ALL_PERMISSIONS: frozenset[str] = frozenset(
    f"{domain}:{entity}:{action}"
    for domain, entities in CATALOGUE.items()
    for entity, actions in entities.items()
    for action in actions
)

SUPER_ADMIN = "Super Admin"
OAUTH_ADMIN = "OAuth Admin"
BUILTIN_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    SUPER_ADMIN: ("Every permission in the organisation", ("*:*:*",)),
    OAUTH_ADMIN: (
        "Manages OAuth clients and scopes, acts on findings, alerts and reviews, reads the "
        "audit log and the compliance report",
        ("oauth:client:*", "oauth:scope:*", "audits:audit:view", "authorization:role:view",
         "authorization:division:view", "governance:finding:*", "governance:alert:*",
         "governance:review:*", "governance:policy:view", "governance:compliance:view"),
    ),
}


def check_permission_pattern(pattern: str) -> str | None:
    """Return why ``pattern`` is not a valid permission (``*`` allowed per part), or None."""
    parts = pattern.split(":")
    if len(parts) != 3 or not all(parts):
        return "must have the form domain:entity:action"
    domain, entity, action = parts
    if domain == "*":
        return None if entity == action == "*" else "a '*' domain needs '*:*:*'"
    if domain not in CATALOGUE:
        return f"unknown domain {domain!r}"
    if entity == "*":
        return None if action == "*" else "a '*' entity needs a '*' action"
    if entity not in CATALOGUE[domain]:
        return f"unknown entity {domain}:{entity}"
    if action != "*" and action not in CATALOGUE[domain][entity]:
        return f"unknown action {pattern}"
    return None


def grants(patterns: Iterable[str], permission: str) -> bool:
    """True when any pattern (with ``*`` wildcards per part) covers ``permission``."""
    wanted = permission.split(":")
    return any(
        all(have in ("*", want) for have, want in zip(pattern.split(":"), wanted, strict=True))
        for pattern in patterns
    )
