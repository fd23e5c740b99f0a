"""Permissions (``domain:entity:action``), the catalogue, built-in roles, and matching."""

from __future__ import annotations

from collections.abc import Iterable

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
    "directory": {"user": ("add", "view", "edit", "delete")},
    "sso": {"provider": ("add", "view", "edit", "delete")},
}

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
        "Manages OAuth clients and scopes and reads the audit log",
        ("oauth:client:*", "oauth:scope:*", "audits:audit:view", "authorization:role:view",
         "authorization:division:view"),
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
