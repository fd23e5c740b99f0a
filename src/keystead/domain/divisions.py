"""Divisions: the organisation's partitions that role grants are scoped to; their use cases.

The management API and the admin console call these same methods, so both enforce the same
rules and leave the same audit trail. Every use case runs inside the caller's transaction: the
change and its audit entry commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, property_changes
from keystead.domain.clock import Clock
from keystead.domain.errors import ConflictError, InvalidInputError, require_found
from keystead.domain.organization import Division, check_description, check_name
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

ENTITY = "Division"


class DivisionStore(Protocol):
    async def list(self) -> Sequence[Division]:
        """Every division, by name."""

    async def find(self, division_id: str) -> Division | None: ...
    async def by_name(self, name: str) -> Division | None: ...
    async def add(self, division: Division) -> None: ...
    async def update(self, division_id: str, *, name: str, description: str) -> None: ...
    async def in_use(self, division_id: str) -> bool:
        """True while a client's or a user's role grant names the division."""

    async def delete(self, division_id: str) -> None: ...


def _entity(division: Division) -> Entity:
    return Entity(ENTITY, division.id, division.name)


@dataclass(slots=True)
class DivisionManagement:
    divisions: DivisionStore
    auditor: Auditor
    clock: Clock

    async def list(self, caller: Caller) -> Sequence[Division]:
        caller.require(Permission.AUTHORIZATION_DIVISION_VIEW)
        return await self.divisions.list()

    async def find(self, caller: Caller, division_id: str) -> Division:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(Permission.AUTHORIZATION_DIVISION_VIEW)
        return require_found(await self.divisions.find(division_id),
                             f"no division with id {division_id}")

    async def home(self, caller: Caller) -> Division:
        caller.require(Permission.AUTHORIZATION_DIVISION_VIEW)
        return next(d for d in await self.divisions.list() if d.home)

    async def create(self, caller: Caller, *, name: str, description: str) -> Division:
        """Raises: ForbiddenError, InvalidInputError, ConflictError (the name is taken)."""
        caller.require(Permission.AUTHORIZATION_DIVISION_ADD)
        name, description = name.strip(), description.strip()
        await self._check(name, description)
        division = Division(str(uuid.uuid4()), name, description, False, self.clock())
        await self.divisions.add(division)
        await self.auditor.record(caller, "create", _entity(division), {})
        return division

    async def update(self, caller: Caller, division_id: str, *, name: str,
                     description: str) -> Division:
        """Raises: ForbiddenError, NotFoundError, InvalidInputError, ConflictError."""
        caller.require(Permission.AUTHORIZATION_DIVISION_EDIT)
        old = await self.find(caller, division_id)
        name, description = name.strip(), description.strip()
        await self._check(name, description, except_id=old.id)
        await self.divisions.update(old.id, name=name, description=description)
        new = replace(old, name=name, description=description)
        await self.auditor.record(caller, "update", _entity(new), {
            "propertyChanges": property_changes(
                {"name": old.name, "description": old.description},
                {"name": name, "description": description})})
        return new

    async def delete(self, caller: Caller, division_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (Home, or named by a grant)."""
        caller.require(Permission.AUTHORIZATION_DIVISION_DELETE)
        found = await self.find(caller, division_id)
        if found.home:
            raise ConflictError("the Home division cannot be deleted")
        if await self.divisions.in_use(found.id):
            raise ConflictError("the division is used by role grants; remove them first")
        await self.divisions.delete(found.id)
        await self.auditor.record(caller, "delete", _entity(found), {})

    async def _check(self, name: str, description: str, *, except_id: str | None = None) -> None:
        if problems := check_name(name) + check_description(description):
            raise InvalidInputError(problems)
        holder = await self.divisions.by_name(name)
        if holder is not None and holder.id != except_id:
            raise ConflictError(f"a division named {name!r} already exists")
