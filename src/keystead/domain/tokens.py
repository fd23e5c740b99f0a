"""What the token hot path reads and writes: flat records, no object graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class SecretRecord:
    id: str
    digest: str
    date_expires: datetime | None
    date_last_used: datetime | None

    def is_usable(self, now: datetime) -> bool:
        return self.date_expires is None or now < self.date_expires


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client as the token endpoint sees it, read by primary key on every request."""

    id: str
    name: str
    state: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    token_ttl_seconds: int
    token_format: str
    roles: tuple[tuple[str, str], ...]
    secrets: tuple[SecretRecord, ...]
    date_last_used: datetime | None

    @property
    def is_active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored access token joined with its client's live state."""

    digest: str
    client_id: str
    subject_id: str | None
    scope: str
    roles: tuple[tuple[str, str], ...]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    client_state: str
    client_scopes: tuple[str, ...]


class HotStore(Protocol):
    """The few reads and writes of token issuance and validation, each one round trip."""

    async def client(self, client_id: str) -> ClientRecord | None: ...
    async def mark_used(self, client_id: str, secret_id: str, *, now: datetime) -> None: ...
    async def add_token(self, token: TokenRecord) -> None: ...
    async def token(self, digest: str) -> TokenRecord | None: ...
    async def revoke(self, digest: str, *, client_id: str | None, now: datetime) -> bool:
        """Revoke one token (only the given client's, when given); False if none matched."""

    async def record(self, event: AuditEvent) -> None:
        """Append an audit event in its own transaction (failed authentications)."""


@dataclass(frozen=True, slots=True)
class SigningKeyMaterial:
    """A new signing key as stored: the public JWK, and the private one encrypted."""

    kid: str
    alg: str
    public_jwk: Mapping[str, object]
    private_jwk_encrypted: str
