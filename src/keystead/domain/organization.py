"""Divisions, roles and scopes: the organisation's catalogue and its rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from keystead.domain.errors import Problem
from keystead.domain.permissions import check_permission_pattern
from keystead.domain.scopes import is_scope_token

MAX_NAME = 128
MAX_DESCRIPTION = 512


@dataclass(frozen=True, slots=True)
class Division:
    id: str
    name: str
    description: str
    home: bool
    date_created: datetime


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool
    date_created: datetime
    date_modified: datetime


@dataclass(frozen=True, slots=True)
class Scope:
    id: str
    description: str
    builtin: bool
    # The resource server a custom scope's tokens are for (their ``aud``); None: the issuer.
    resource_server: str | None = None


def check_name(name: str, *, field: str = "name") -> list[Problem]:
    if not 1 <= len(name) <= MAX_NAME:
        return [Problem(field, "length", f"{field} is required, 1 to {MAX_NAME} characters")]
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        # A name is one line; PostgreSQL text cannot hold NUL at all.
        return [Problem(field, "invalid.character",
                        f"{field} must be one line without control characters")]
    return []


def check_description(description: str) -> list[Problem]:
    if len(description) > MAX_DESCRIPTION:
        return [Problem("description", "length",
                        f"description must be at most {MAX_DESCRIPTION} characters")]
    if "\x00" in description:
        return [Problem("description", "invalid.character", "description must not contain NUL")]
    return []


def check_role(name: str, description: str, permissions: list[str]) -> list[Problem]:
    problems = check_name(name) + check_description(description)
    for index, pattern in enumerate(permissions):
        if (why := check_permission_pattern(pattern)) is not None:
            problems.append(Problem(f"permissionPolicies[{index}]", "invalid.permission",
                                    f"{pattern!r} {why}"))
    return problems


def check_scope(scope_id: str, description: str) -> list[Problem]:
    problems = check_description(description)
    # "\n" too: the scope-token pattern's "$" would let one trailing newline through.
    if not 1 <= len(scope_id) <= MAX_NAME or not is_scope_token(scope_id) or "\n" in scope_id:
        problems.append(Problem("id", "invalid.scope",
                                "a scope is 1 to 128 printable characters without spaces, "
                                "quotes or backslashes (RFC 6749 §3.3)"))
    return problems
