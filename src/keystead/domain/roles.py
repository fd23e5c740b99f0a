"""Organisation use cases: divisions, roles and scopes — each checked, changed and audited.

The management API and the admin console call these same methods, so both enforce the same
rules and leave the same audit trail. Every use case runs inside the caller's transaction: the
change and its audit entry commit together or not at all.

No escalation: a role may grant only permissions its author holds, and a role is changed or
deleted only by someone who holds every permission it grants (no one strips a stronger admin's
role or renames it into something else).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from keystead.domain.audiences import RESOURCE_SERVER_FIELD, check_resource_server
from keystead.domain.audit import AuditEvent, JSONValue
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from keystead.domain.organization import (
    Division,
    Role,
    Scope,
    check_description,
    check_name,
    check_role,
    check_scope,
)
from keystead.domain.ports import AuditLog, DivisionStore, RoleStore, ScopeHolders, ScopeStore
from keystead.domain.principal import Caller

Clock = Callable[[], datetime]
DIVISION, ROLE, SCOPE = "Division", "Role", "OAuthScope"
GRANT_PERMISSIONS = ("authorization:grant:view", "authorization:grant:add",
                     "authorization:grant:delete")


class Unchanged(enum.Enum):
    """A property an update leaves as it is (its field was left out of the request)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class GrantChoices:
    """The roles and divisions a grant can name (what an admin picks from)."""

    roles: Sequence[Role]
    divisions: Sequence[Division]


def changes(**pairs: tuple[JSONValue, JSONValue]) -> dict[str, JSONValue]:
    """The audit's ``propertyChanges``: old and new value of each property that changed."""
    return {name: {"old": old, "new": new} for name, (old, new) in pairs.items() if old != new}


@dataclass(slots=True)
class OrganizationManagement:
    divisions: DivisionStore
    roles: RoleStore
    scopes: ScopeStore
    holders: ScopeHolders
    audit: AuditLog
    clock: Clock
    # Audiences a custom scope cannot declare: Keystead's own management API.
    reserved_audiences: frozenset[str] = field(default_factory=frozenset)

    # -- divisions

    async def list_divisions(self, caller: Caller) -> Sequence[Division]:
        caller.require("authorization:division:view")
        return await self.divisions.divisions()

    async def find_division(self, caller: Caller, division_id: str) -> Division:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require("authorization:division:view")
        found = await self.divisions.division(division_id)
        if found is None:
            raise NotFoundError(f"no division with id {division_id}")
        return found

    async def home_division(self, caller: Caller) -> Division:
        caller.require("authorization:division:view")
        return next(d for d in await self.divisions.divisions() if d.home)

    async def create_division(self, caller: Caller, *, name: str, description: str) -> Division:
        """Raises: ForbiddenError, InvalidInputError, ConflictError (the name is taken)."""
        caller.require("authorization:division:add")
        name, description = name.strip(), description.strip()
        await self._check_division(name, description)
        division = Division(str(uuid.uuid4()), name, description, False, self.clock())
        await self.divisions.add_division(division)
        await self._record(caller, "create", DIVISION, division.id, division.name, {})
        return division

    async def update_division(self, caller: Caller, division_id: str, *, name: str,
                              description: str) -> Division:
        """Raises: ForbiddenError, NotFoundError, InvalidInputError, ConflictError."""
        caller.require("authorization:division:edit")
        old = await self.find_division(caller, division_id)
        name, description = name.strip(), description.strip()
        await self._check_division(name, description, except_id=old.id)
        await self.divisions.update_division(old.id, name=name, description=description)
        await self._record(caller, "update", DIVISION, old.id, name, {"propertyChanges": changes(
            name=(old.name, name), description=(old.description, description))})
        return replace(old, name=name, description=description)

    async def delete_division(self, caller: Caller, division_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (Home, or named by a grant)."""
        caller.require("authorization:division:delete")
        found = await self.find_division(caller, division_id)
        if found.home:
            raise ConflictError("the Home division cannot be deleted")
        if await self.divisions.division_in_use(found.id):
            raise ConflictError("the division is used by role grants; remove them first")
        await self.divisions.delete_division(found.id)
        await self._record(caller, "delete", DIVISION, found.id, found.name, {})

    async def _check_division(self, name: str, description: str, *,
                              except_id: str | None = None) -> None:
        if problems := check_name(name) + check_description(description):
            raise InvalidInputError(problems)
        if await self.divisions.name_taken("divisions", name, except_id=except_id):
            raise ConflictError(f"a division named {name!r} already exists")

    # -- roles

    async def list_roles(self, caller: Caller, *, name: str | None = None) -> Sequence[Role]:
        """Every role, or those whose name contains ``name`` (any case)."""
        caller.require("authorization:role:view")
        return [r for r in await self.roles.roles()
                if name is None or name.lower() in r.name.lower()]

    async def find_role(self, caller: Caller, role_id: str) -> Role:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require("authorization:role:view")
        found = await self.roles.role(role_id)
        if found is None:
            raise NotFoundError(f"no role with id {role_id}")
        return found

    async def create_role(self, caller: Caller, *, name: str, description: str,
                          permissions: Sequence[str]) -> Role:
        """Raises:
            ForbiddenError: the role would grant a permission the caller lacks.
            InvalidInputError, ConflictError: the name is taken.
        """
        caller.require("authorization:role:add")
        name, description, wanted = name.strip(), description.strip(), _unique(permissions)
        await self._check_role(caller, name, description, wanted)
        now = self.clock()
        role = Role(str(uuid.uuid4()), name, description, wanted, False, now, now)
        await self.roles.add_role(role)
        await self._record(caller, "create", ROLE, role.id, role.name,
                           {"permissions": list(wanted)})
        return role

    async def update_role(self, caller: Caller, role_id: str, *, name: str, description: str,
                          permissions: Sequence[str]) -> Role:
        """Raises:
            ConflictError: a built-in role, or the name is taken.
            ForbiddenError: the role grants, or would grant, a permission the caller lacks.
            NotFoundError, InvalidInputError.
        """
        caller.require("authorization:role:edit")
        old = await self._changeable_role(caller, role_id, verb="changed")
        name, description, wanted = name.strip(), description.strip(), _unique(permissions)
        await self._check_role(caller, name, description, wanted, except_id=old.id)
        role = replace(old, name=name, description=description, permissions=wanted,
                       date_modified=self.clock())
        await self.roles.update_role(role)
        await self._record(caller, "update", ROLE, role.id, role.name, {"propertyChanges": changes(
            name=(old.name, name), description=(old.description, description),
            permissions=(list(old.permissions), list(wanted)))})
        return role

    async def delete_role(self, caller: Caller, role_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (built-in, or held by anyone)."""
        caller.require("authorization:role:delete")
        found = await self._changeable_role(caller, role_id, verb="deleted")
        if await self.roles.role_in_use(found.id):
            raise ConflictError("the role is assigned to clients or users; remove it first")
        await self.roles.delete_role(found.id)
        await self._record(caller, "delete", ROLE, found.id, found.name, {})

    async def _changeable_role(self, caller: Caller, role_id: str, *, verb: str) -> Role:
        found = await self.find_role(caller, role_id)
        if found.builtin:
            raise ConflictError(f"the built-in role {found.name!r} cannot be {verb}")
        if beyond := caller.lacks(found.permissions):
            raise ForbiddenError(f"the role {found.name!r} grants permissions you do not hold "
                                 f"({', '.join(beyond)}); only an admin who holds them may "
                                 f"change or delete it")
        return found

    async def _check_role(self, caller: Caller, name: str, description: str,
                          permissions: tuple[str, ...], *, except_id: str | None = None) -> None:
        if problems := check_role(name, description, list(permissions)):
            raise InvalidInputError(problems)
        if beyond := caller.lacks(permissions):
            # No escalation: a role can hand out only what its author already holds.
            raise ForbiddenError("a role may grant only permissions you hold; you lack "
                                 + ", ".join(beyond))
        if await self.roles.name_taken("roles", name, except_id=except_id):
            raise ConflictError(f"a role named {name!r} already exists")

    # -- what a grant can name

    async def grant_choices(self, caller: Caller) -> GrantChoices:
        """The roles and divisions, for an admin who views, gives or takes role grants.

        Raises:
            ForbiddenError: the caller holds none of the grant permissions.
        """
        if not any(caller.has_permission(p) for p in GRANT_PERMISSIONS):
            raise ForbiddenError(f"missing permission {GRANT_PERMISSIONS[0]}")
        return GrantChoices(await self.roles.roles(), await self.divisions.divisions())

    # -- scopes

    async def list_scopes(self, caller: Caller) -> Sequence[Scope]:
        caller.require("oauth:scope:view")
        return await self.scopes.scopes()

    async def find_scope(self, caller: Caller, scope_id: str) -> Scope:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require("oauth:scope:view")
        found = await self.scopes.scope(scope_id)
        if found is None:
            raise NotFoundError(f"no scope {scope_id!r}")
        return found

    async def count_holders(self, caller: Caller, scope_id: str) -> int:
        """How many clients hold the scope (those deleted no longer count)."""
        caller.require("oauth:scope:view")
        return await self.holders.count_holding_scope(scope_id)

    async def create_scope(self, caller: Caller, *, scope_id: str, description: str,
                           resource_server: str | None = None) -> Scope:
        """A custom scope, for ``resource_server`` (its tokens' audience) or for the issuer.

        Raises: ForbiddenError, InvalidInputError, ConflictError (the scope exists).
        """
        caller.require("oauth:scope:add")
        scope_id, description = scope_id.strip(), description.strip()
        problems = check_scope(scope_id, description) + self._check_resource_server(
            resource_server)
        if problems:
            raise InvalidInputError(problems)
        if await self.scopes.scope(scope_id) is not None:
            raise ConflictError(f"the scope {scope_id!r} already exists")
        scope = Scope(scope_id, description, False, resource_server)
        await self.scopes.add_scope(scope)
        await self._record(caller, "create", SCOPE, scope.id, scope.id,
                           {"description": scope.description,
                            "resourceServer": scope.resource_server})
        return scope

    async def update_scope(self, caller: Caller, scope_id: str, *, description: str,
                           resource_server: str | Unchanged | None = UNCHANGED) -> Scope:
        """Change a scope's description and resource server (its id is what clients ask for:
        it never changes). A new resource server is the audience of tokens issued from now on;
        tokens already issued keep theirs.

        Raises:
            ForbiddenError, InvalidInputError (a built-in scope is for the management API and
            declares no resource server), NotFoundError.
        """
        caller.require("oauth:scope:edit")
        description = description.strip()
        problems = check_description(description)
        if resource_server is not UNCHANGED:
            problems += self._check_resource_server(resource_server)
        if problems:
            raise InvalidInputError(problems)
        old = await self.find_scope(caller, scope_id)
        new_server = old.resource_server if resource_server is UNCHANGED else resource_server
        if old.builtin and new_server is not None:
            raise InvalidInputError.one(RESOURCE_SERVER_FIELD, "builtin",
                                        "a built-in scope is for the management API: leave "
                                        "resourceServer out")
        await self.scopes.update_scope(scope_id, description=description,
                                       resource_server=new_server)
        await self._record(caller, "update", SCOPE, scope_id, scope_id, {
            "propertyChanges": changes(description=(old.description, description),
                                       resourceServer=(old.resource_server, new_server))})
        return replace(old, description=description, resource_server=new_server)

    def _check_resource_server(self, value: str | None) -> list[Problem]:
        if value is None:
            return []
        if value in self.reserved_audiences:
            return [Problem(RESOURCE_SERVER_FIELD, "reserved",
                            "resourceServer cannot be Keystead's own management API")]
        return check_resource_server(value)

    async def delete_scope(self, caller: Caller, scope_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (built-in, or held by a client)."""
        caller.require("oauth:scope:delete")
        found = await self.find_scope(caller, scope_id)
        if found.builtin:
            raise ConflictError(f"the built-in scope {scope_id!r} cannot be deleted")
        if holders := await self.holders.count_holding_scope(scope_id):
            raise ConflictError(f"the scope is held by {holders} client(s); "
                                "remove it from them first")
        await self.scopes.delete_scope(scope_id)
        await self._record(caller, "delete", SCOPE, scope_id, scope_id, {})

    async def _record(self, caller: Caller, action: str, entity_type: str, entity_id: str,
                      entity_name: str, details: dict[str, JSONValue]) -> None:
        await self.audit.append(AuditEvent(
            timestamp=self.clock(), actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action=action, entity_type=entity_type,
            entity_id=entity_id, entity_name=entity_name, remote_ip=caller.remote_ip,
            actor_divisions=caller.divisions, details=details))


def _unique(permissions: Sequence[str]) -> tuple[str, ...]:
    """The permissions in their given order, each once."""
    return tuple(dict.fromkeys(p.strip() for p in permissions))
