"""Divisions, roles and scopes: the organisation's catalogue, its shared rules, and the
read-only view the client and user rules take of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.errors import Problem
from keystead.domain.permissions import check_permission_pattern

# Keystead serves one organisation; Genesys shapes carry its id.
ORGANIZATION_ID = "00000000-0000-4000-8000-000000000001"
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


class Catalog(Protocol):
    """Roles, divisions and scopes, as the client and user rules need them."""

    async def known_scopes(self) -> frozenset[str]: ...
    async def existing_roles(self, role_ids: Sequence[str]) -> dict[str, str]:
        """Map each existing role id among ``role_ids`` to its name."""

    async def existing_divisions(self, division_ids: Sequence[str]) -> frozenset[str]: ...
    async def home_division_id(self) -> str: ...
    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]:
        """Every permission pattern the given roles grant."""

    async def scim_role_ids(self) -> frozenset[str]: ...
