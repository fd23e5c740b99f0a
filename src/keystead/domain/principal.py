"""The caller of a management operation: who it is, its roles, what its token allows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from keystead.domain.clients import Actor, RoleDivision
from keystead.domain.errors import ForbiddenError
from keystead.domain.permissions import grants


@dataclass(frozen=True, slots=True)
class Caller:
    """A token's client (or user), the roles it holds in divisions and their permissions.

    ``permissions`` holds patterns such as ``oauth:client:*``; the CLI operator holds ``*:*:*``.
    """

    actor: Actor
    role_divisions: frozenset[RoleDivision]
    permissions: frozenset[str]
    remote_ip: str = ""
    # The operator at the console of the host may assign any role (bootstrap needs it).
    is_operator: bool = False
    # The permissions ``require`` found held during one request: a client's evidence of use.
    exercised: set[str] = field(default_factory=set, compare=False, repr=False)

    @property
    def divisions(self) -> tuple[str, ...]:
        """The divisions the caller's roles are scoped to, sorted: what audit entries record."""
        return tuple(sorted({rd.division_id for rd in self.role_divisions}))

    def has_permission(self, permission: str) -> bool:
        return grants(self.permissions, permission)

    def require(self, permission: str) -> None:
        """Raises: ForbiddenError naming the missing permission."""
        if not self.has_permission(permission):
            raise ForbiddenError(f"missing permission {permission}")
        self.exercised.add(permission)

    def lacks(self, permissions: Iterable[str]) -> list[str]:
        """The given permissions (patterns allowed) that the caller's own do not cover."""
        return sorted(p for p in permissions if not self.has_permission(p))

    def missing_roles(self, wanted: Iterable[RoleDivision]) -> list[RoleDivision]:
        """The role grants the caller would have to hold to assign ``wanted`` (no escalation)."""
        if self.is_operator:
            return []
        return [rd for rd in wanted if rd not in self.role_divisions]


def operator(name: str = "cli") -> Caller:
    """The operator at the command line: trusted with everything, audited as ``cli``."""
    return Caller(actor=Actor("cli", name, name), role_divisions=frozenset(),
                  permissions=frozenset({"*:*:*"}), is_operator=True)
