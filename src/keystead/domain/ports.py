"""Ports the use cases need; the store implements them. Small, one per aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import AuditEvent
from keystead.domain.clients import Client, ClientState, GrantType


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int


@dataclass(frozen=True, slots=True)
class ClientFilter:
    name: str | None = None
    state: ClientState | None = None
    grant_type: GrantType | None = None


class ClientStore(Protocol):
    async def add(self, client: Client, *, secret_id: str, secret_digest: str) -> None: ...
    async def find(self, client_id: str) -> Client | None: ...
    async def replace(self, client: Client) -> None: ...
    async def delete(self, client_id: str) -> None: ...
    async def search(self, flt: ClientFilter, page: Page) -> tuple[Sequence[Client], int]: ...
    async def due_for_deletion(self, now: datetime) -> Sequence[Client]: ...


class SecretStore(Protocol):
    async def rotate(self, client_id: str, *, secret_id: str, digest: str, now: datetime,
                     previous_expires: datetime) -> None:
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
