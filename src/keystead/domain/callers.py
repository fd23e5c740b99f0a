"""Who is calling: a client or a user as a Caller, with the permissions their roles give now
(so removing a role takes effect on the next call, not when a token or session expires)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.clients import Actor, RoleDivision
from keystead.domain.principal import Caller
from keystead.domain.users import User


class Principals(Protocol):
    """The grants callers hold, as stored now."""

    async def client(self, client_id: str) -> tuple[str, Sequence[RoleDivision]] | None:
        """The client's name and role grants; None: no such client."""

    async def user(self, user_id: str) -> User | None: ...

    async def user_grants(self, user_id: str) -> Sequence[RoleDivision]: ...

    async def organization_name(self) -> str: ...


class PermissionCatalog(Protocol):
    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]: ...


@dataclass(slots=True)
class Callers:
    principals: Principals
    catalog: PermissionCatalog

    async def of_client(self, client_id: str, remote_ip: str) -> Caller:
        """A client acting with its own roles (a deleted client: no roles, so no permission)."""
        name, grants = await self.principals.client(client_id) or ("", ())
        return await self._caller(Actor("client", client_id, name), grants, remote_ip)

    async def of_active_user(self, user_id: str, remote_ip: str) -> Caller | None:
        """A user acting with their own roles; None: no such user, or not active (a user's
        token acts with the user's permissions, not the client's)."""
        user = await self.active_user(user_id)
        return None if user is None else await self.of_user(user, remote_ip)

    async def active_user(self, user_id: str) -> User | None:
        user = await self.user(user_id)
        return user if user is not None and user.state == "active" else None

    async def user(self, user_id: str) -> User | None:
        return await self.principals.user(user_id)

    async def of_user(self, user: User, remote_ip: str) -> Caller:
        grants = await self.principals.user_grants(user.id)
        return await self._caller(Actor("user", user.id, user.email), grants, remote_ip)

    async def organization_name(self) -> str:
        return await self.principals.organization_name()

    async def _caller(self, actor: Actor, grants: Sequence[RoleDivision],
                      remote_ip: str) -> Caller:
        pairs = frozenset(grants)
        permissions = await self.catalog.permissions_of(sorted({p.role_id for p in pairs}))
        return Caller(actor=actor, role_divisions=pairs, permissions=permissions,
                      remote_ip=remote_ip)
