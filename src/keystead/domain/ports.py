"""Ports the use cases need; the store implements them. Small, one per aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.audit import AuditEvent
from keystead.domain.clients import Client, ClientState, GrantType
from keystead.domain.organization import Division, Role, Scope


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int


class ClientSort(StrEnum):
    """Orders of a client listing: by name, newest first, or most recently used first."""

    name = "name"
    created = "created"
    last_used = "last-used"


@dataclass(frozen=True, slots=True)
class ClientFilter:
    name: str | None = None
    state: ClientState | None = None
    grant_type: GrantType | None = None
    sort: ClientSort = ClientSort.name


class ClientStore(Protocol):
    async def add(self, client: Client, *, secret_id: str | None,
                  secret_digest: str | None, key_id: str) -> None:
        """Store a new client with its first secret (none for a public client)."""

    async def find(self, client_id: str) -> Client | None: ...
    async def replace(self, client: Client) -> None: ...
    async def delete(self, client_id: str) -> None: ...
    async def search(self, flt: ClientFilter, page: Page) -> tuple[Sequence[Client], int]: ...
    async def due_for_deletion(self, now: datetime) -> Sequence[Client]: ...


class SecretStore(Protocol):
    async def rotate(self, client_id: str, *, secret_id: str, digest: str, now: datetime,
                     previous_expires: datetime, key_id: str) -> None:
        """Make a new secret current; the previous current one expires at ``previous_expires``."""

    async def expire_previous(self, client_id: str, *, now: datetime) -> int:
        """End every non-current secret's dual-use window now; return how many were cut short."""


class Catalog(Protocol):
    """Roles, divisions and scopes, as the client rules need them."""

    async def known_scopes(self) -> frozenset[str]: ...
    async def existing_roles(self, role_ids: Sequence[str]) -> dict[str, str]:
        """Map each existing role id among ``role_ids`` to its name."""

    async def existing_divisions(self, division_ids: Sequence[str]) -> frozenset[str]: ...
    async def home_division_id(self) -> str: ...
    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]:
        """Every permission pattern the given roles grant."""

    async def scim_role_ids(self) -> frozenset[str]: ...


class AuditLog(Protocol):
    async def append(self, event: AuditEvent) -> None: ...


class TokenRevoker(Protocol):
    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> None:
        """Revoke every token the client was issued up to ``now``."""


# -- Organisation management: roles, divisions and scopes as their use cases change them.
# SqlCatalog implements the first three; ``name_taken`` takes "divisions" or "roles".


class DivisionStore(Protocol):
    async def divisions(self) -> Sequence[Division]: ...
    async def division(self, division_id: str) -> Division | None: ...
    async def add_division(self, division: Division) -> None: ...
    async def update_division(self, division_id: str, *, name: str, description: str) -> None: ...
    async def division_in_use(self, division_id: str) -> bool:
        """True while a client's or a user's role grant names the division."""

    async def delete_division(self, division_id: str) -> None: ...
    async def name_taken(self, table: str, name: str, *, except_id: str | None = None) -> bool: ...


class RoleStore(Protocol):
    async def roles(self) -> Sequence[Role]: ...
    async def role(self, role_id: str) -> Role | None: ...
    async def add_role(self, role: Role) -> None: ...
    async def update_role(self, role: Role) -> None: ...
    async def role_in_use(self, role_id: str) -> bool:
        """True while a client or a user holds the role."""

    async def delete_role(self, role_id: str) -> None: ...
    async def name_taken(self, table: str, name: str, *, except_id: str | None = None) -> bool: ...


class ScopeStore(Protocol):
    async def scopes(self) -> Sequence[Scope]: ...
    async def scope(self, scope_id: str) -> Scope | None: ...
    async def add_scope(self, scope: Scope) -> None: ...
    async def update_scope(self, scope_id: str, *, description: str,
                           resource_server: str | None) -> None: ...
    async def delete_scope(self, scope_id: str) -> None: ...


class ScopeHolders(Protocol):
    """How many clients hold a scope (SqlClientStore implements it)."""

    async def count_holding_scope(self, scope_id: str) -> int: ...
