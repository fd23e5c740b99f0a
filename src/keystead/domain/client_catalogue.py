"""What the organisation offers a client: every role in every division, and the scopes; a
(role, division) is selectable only by a caller who holds it (or an operator), or when the client
already has it, since keeping a role is no escalation (``ClientChecks`` enforces the same rule
on save)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.clients import RoleDivision
from keystead.domain.organization import Division, Role, Scope
from keystead.domain.principal import Caller


class RoleList(Protocol):
    async def list(self) -> list[Role]: ...


class DivisionList(Protocol):
    async def list(self) -> list[Division]: ...


class ScopeList(Protocol):
    async def list(self) -> list[Scope]: ...


@dataclass(frozen=True, slots=True)
class RoleOffer:
    role: Role
    division: Division
    selectable: bool


@dataclass(frozen=True, slots=True)
class Offer:
    choices: Sequence[RoleOffer]
    scopes: Sequence[Scope]
    roles: Sequence[Role]
    divisions: Sequence[Division]


@dataclass(frozen=True, slots=True)
class ClientCatalogue:
    roles: RoleList
    divisions: DivisionList
    scopes: ScopeList

    async def offer(self, caller: Caller, *, keep: Iterable[RoleDivision] = ()) -> Offer:
        roles, divisions = await self.roles.list(), await self.divisions.list()
        held = set(caller.role_divisions) | set(keep)
        choices = [RoleOffer(r, d, caller.is_operator or RoleDivision(r.id, d.id) in held)
                   for r in roles for d in divisions]
        return Offer(choices, await self.scopes.list(), roles, divisions)
