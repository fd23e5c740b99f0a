"""Roles: named sets of permission patterns that clients and users hold in divisions.

The management API and the admin console call these same methods, so both enforce the same
rules and leave the same audit trail. Every use case runs inside the caller's transaction: the
change and its audit entry commit together or not at all.

No escalation: a role may grant only permissions its author holds, and a role is changed or
deleted only by someone who holds every permission it grants (no one strips a stronger admin's
role or renames it into something else).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, property_changes
from keystead.domain.clock import Clock
from keystead.domain.divisions import DivisionStore
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    require_found,
)
from keystead.domain.organization import Division, Role, check_role
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

ENTITY = "Role"
GRANT_PERMISSIONS = (Permission.AUTHORIZATION_GRANT_VIEW, Permission.AUTHORIZATION_GRANT_ADD,
                     Permission.AUTHORIZATION_GRANT_DELETE)


class RoleStore(Protocol):
    async def list(self) -> Sequence[Role]:
        """Every role, by name."""

    async def find(self, role_id: str) -> Role | None: ...
    async def by_name(self, name: str) -> Role | None: ...
    async def add(self, role: Role) -> None: ...
    async def update(self, role: Role) -> None: ...
    async def in_use(self, role_id: str) -> bool:
        """True while a client or a user holds the role."""

    async def delete(self, role_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class GrantChoices:
    """The roles and divisions a grant can name (what an admin picks from)."""

    roles: Sequence[Role]
    divisions: Sequence[Division]


def _entity(role: Role) -> Entity:
    return Entity(ENTITY, role.id, role.name)


@dataclass(slots=True)
class RoleManagement:
    roles: RoleStore
    divisions: DivisionStore
    auditor: Auditor
    clock: Clock

    async def list(self, caller: Caller, *, name: str | None = None) -> Sequence[Role]:
        """Every role, or those whose name contains ``name`` (any case)."""
        caller.require(Permission.AUTHORIZATION_ROLE_VIEW)
        return [r for r in await self.roles.list()
                if name is None or name.lower() in r.name.lower()]

    async def find(self, caller: Caller, role_id: str) -> Role:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(Permission.AUTHORIZATION_ROLE_VIEW)
        return require_found(await self.roles.find(role_id), f"no role with id {role_id}")

    async def create(self, caller: Caller, *, name: str, description: str,
                     permissions: Sequence[str]) -> Role:
        """Raises:
            ForbiddenError: the role would grant a permission the caller lacks.
            InvalidInputError, ConflictError: the name is taken.
        """
        caller.require(Permission.AUTHORIZATION_ROLE_ADD)
        name, description, wanted = name.strip(), description.strip(), _unique(permissions)
        await self._check(caller, name, description, wanted)
        now = self.clock()
        role = Role(str(uuid.uuid4()), name, description, wanted, False, now, now)
        await self.roles.add(role)
        await self.auditor.record(caller, "create", _entity(role), {"permissions": list(wanted)})
        return role

    async def update(self, caller: Caller, role_id: str, *, name: str, description: str,
                     permissions: Sequence[str]) -> Role:
        """Raises:
            ConflictError: a built-in role, or the name is taken.
            ForbiddenError: the role grants, or would grant, a permission the caller lacks.
            NotFoundError, InvalidInputError.
        """
        caller.require(Permission.AUTHORIZATION_ROLE_EDIT)
        old = await self._changeable(caller, role_id, verb="changed")
        name, description, wanted = name.strip(), description.strip(), _unique(permissions)
        await self._check(caller, name, description, wanted, except_id=old.id)
        role = replace(old, name=name, description=description, permissions=wanted,
                       date_modified=self.clock())
        await self.roles.update(role)
        await self.auditor.record(caller, "update", _entity(role), {
            "propertyChanges": property_changes(
                {"name": old.name, "description": old.description,
                 "permissions": list(old.permissions)},
                {"name": name, "description": description, "permissions": list(wanted)})})
        return role

    async def delete(self, caller: Caller, role_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (built-in, or held by anyone)."""
        caller.require(Permission.AUTHORIZATION_ROLE_DELETE)
        found = await self._changeable(caller, role_id, verb="deleted")
        if await self.roles.in_use(found.id):
            raise ConflictError("the role is assigned to clients or users; remove it first")
        await self.roles.delete(found.id)
        await self.auditor.record(caller, "delete", _entity(found), {})

    async def grant_choices(self, caller: Caller) -> GrantChoices:
        """The roles and divisions, for an admin who views, gives or takes role grants.

        Raises:
            ForbiddenError: the caller holds none of the grant permissions.
        """
        if not any(caller.has_permission(p) for p in GRANT_PERMISSIONS):
            raise ForbiddenError(f"missing permission {GRANT_PERMISSIONS[0]}")
        return GrantChoices(await self.roles.list(), await self.divisions.list())

    async def _changeable(self, caller: Caller, role_id: str, *, verb: str) -> Role:
        found = await self.find(caller, role_id)
        if found.builtin:
            raise ConflictError(f"the built-in role {found.name!r} cannot be {verb}")
        if beyond := caller.lacks(found.permissions):
            raise ForbiddenError(f"the role {found.name!r} grants permissions you do not hold "
                                 f"({', '.join(beyond)}); only an admin who holds them may "
                                 f"change or delete it")
        return found

    async def _check(self, caller: Caller, name: str, description: str,
                     permissions: tuple[str, ...], *, except_id: str | None = None) -> None:
        if problems := check_role(name, description, list(permissions)):
            raise InvalidInputError(problems)
        if beyond := caller.lacks(permissions):
            # No escalation: a role can hand out only what its author already holds.
            raise ForbiddenError("a role may grant only permissions you hold; you lack "
                                 + ", ".join(beyond))
        holder = await self.roles.by_name(name)
        if holder is not None and holder.id != except_id:
            raise ConflictError(f"a role named {name!r} already exists")


def _unique(permissions: Sequence[str]) -> tuple[str, ...]:
    """The permissions in their given order, each once."""
    return tuple(dict.fromkeys(p.strip() for p in permissions))
