"""The roles a subject holds, with the names an answer shows (the API's
/api/v2/authorization/subjects and a user's roles). Who may see them is UserManagement's rule
(anyone their own; others with ``authorization:grant:view``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.client_catalogue import DivisionList
from keystead.domain.clients import RoleDivision
from keystead.domain.principal import Caller
from keystead.domain.users import UserManagement


class RoleCatalog(Protocol):
    async def existing_roles(self, role_ids: Sequence[str]) -> Mapping[str, str]:
        """Id -> name of those of ``role_ids`` that exist."""

    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject's grants, each role and division with its name ("" once deleted)."""

    id: str
    name: str
    grants: Sequence[RoleDivision]
    role_names: Mapping[str, str]
    division_names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RolesHeld:
    role_ids: Sequence[str]
    role_names: Mapping[str, str]
    permissions: Sequence[str]


@dataclass(frozen=True, slots=True)
class Subjects:
    users: UserManagement
    roles: RoleCatalog
    divisions: DivisionList

    async def of_user(self, caller: Caller, user_id: str) -> Subject:
        """Raises ForbiddenError, NotFoundError: as ``UserManagement.grants_of``."""
        held = await self.users.grants_of(caller, user_id)
        user = await self.users.find(caller, user_id)
        return await self._named(user.id, user.name, held)

    async def of_caller(self, caller: Caller) -> Subject:
        """The caller's own grants (a user's, or a client's roles); no permission needed."""
        held = sorted(caller.role_divisions, key=lambda g: (g.role_id, g.division_id))
        return await self._named(caller.actor.id, caller.actor.name, held)

    async def roles_held(self, caller: Caller, user_id: str) -> RolesHeld:
        """The roles a user holds anywhere and every permission they give.

        Raises ForbiddenError, NotFoundError: as ``UserManagement.grants_of``.
        """
        held = await self.users.grants_of(caller, user_id)
        role_ids = sorted({g.role_id for g in held})
        return RolesHeld(role_ids, await self.roles.existing_roles(role_ids),
                         sorted(await self.roles.permissions_of(role_ids)))

    async def _named(self, subject_id: str, name: str,
                     held: Sequence[RoleDivision]) -> Subject:
        role_names = await self.roles.existing_roles(sorted({g.role_id for g in held}))
        division_names = {d.id: d.name for d in await self.divisions.list()}
        return Subject(subject_id, name, held, role_names, division_names)
