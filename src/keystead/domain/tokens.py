"""What the token hot path reads and writes: flat records, no object graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from keystead.domain.audit import AuditEvent

# The longest usage summary an admin can ask for: daily usage counts are kept at least this long
# (Settings.usage_retention_days).
USAGE_DAYS = 366


# Last-used times are for people, not for the hot path: written at most once a minute.
LAST_USED_GRANULARITY = timedelta(seconds=60)

@dataclass(frozen=True, slots=True)
class SecretRecord:
    id: str
    digest: str
    date_expires: datetime | None
    date_last_used: datetime | None
    key_id: str | None = None  # the server key ring entry ``digest`` is keyed with

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
    tokens_valid_after: datetime | None  # tokens issued at or before this are revoked
    client_type: str = "confidential"  # "public": no secret, PKCE always (RFC 9700 §2.1.1)
    # (scope, resource server) for each of its custom scopes that declares one: the audience
    # its tokens for that scope carry, read with the client so issuing reads nothing more.
    resource_servers: tuple[tuple[str, str], ...] = ()
    # RFC 7591 §2: the one way this client may authenticate (client_secret_basic,
    # client_secret_post, or none for a public client).
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method's name
    # A planned deactivation not yet reached: deprecated since it was planned, disabled at
    # ``sunset_at`` (token responses say so: Deprecation, RFC 9745; Sunset, RFC 8594).
    deprecated_at: datetime | None = None
    sunset_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.state == "active"

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"

    @property
    def divisions(self) -> tuple[str, ...]:
        """The divisions the client's roles are scoped to, sorted (for audit entries)."""
        return tuple(sorted({division for _, division in self.roles}))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token itself carries (sealed inside an opaque token, or signed in a JWT)."""

    digest: str  # keyed digest of the opaque value, or of the JWT's jti
    client_id: str
    subject_id: str | None
    scope: str
    issued_at: datetime
    expires_at: datetime
    # A user token's grant family (one authorization): revoking it stops every token in it.
    family_id: str | None = None
    # Who the token is for (domain/audiences.py), decided when it was issued.
    audience: tuple[str, ...] = ()
    implicit: bool = False  # issued by the implicit grant (it travelled in a URL)


@dataclass(frozen=True, slots=True)
class FamilyState:
    """What the store says now about a user token's grant family and its user."""

    revoked_at: datetime | None
    user_state: str


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the store says now about a token's client and the token itself."""

    client_state: str
    client_scopes: tuple[str, ...]
    roles: tuple[tuple[str, str], ...]
    tokens_valid_after: datetime | None  # tokens issued at or before this are revoked
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An active token: its claims joined with its client's live roles and scopes."""

    digest: str
    client_id: str
    subject_id: str | None
    scope: str
    roles: tuple[tuple[str, str], ...]
    issued_at: datetime
    expires_at: datetime
    client_scopes: tuple[str, ...]
    family_id: str | None = None
    audience: tuple[str, ...] = ()
    implicit: bool = False


class HotStore(Protocol):
    """The reads and writes of token issuance and validation: one round trip each.

    Issuing a token writes nothing on the request path: the token proves itself (sealed or
    signed), only a revoked token gets a row (by digest), and usage is counted in memory and
    added to the store in the background.
    """

    async def client(self, client_id: str) -> ClientRecord | None: ...
    async def mark_used(self, client_id: str, secret_id: str, *, now: datetime) -> None: ...
    async def rekey_secret(self, client_id: str, secret_id: str, *, old_digest: str,
                           digest: str, key_id: str) -> None:
        """Replace a secret's digest with one under the current ring key (if still ``old``)."""

    def count_issued(self, client_id: str, day: date) -> None:
        """Count one token issued to the client on that UTC day, written by ``flush``."""

    async def flush(self) -> None:
        """Add the counts made since the last flush to the store; on any failure they are kept
        for the next flush."""

    def held(self) -> int:
        """How many issued tokens are counted in memory, not yet flushed."""

    async def live_state(self, client_id: str, digest: str) -> LiveState | None:
        """The client's state and the token's revocation; None when the client is gone."""

    async def revoke(self, claims: TokenClaims, *, now: datetime) -> None: ...
    async def family_state(self, family_id: str) -> FamilyState | None:
        """A grant family's revocation and its user's state; None when either is gone."""

    async def record(self, event: AuditEvent) -> None:
        """Append an audit event in its own transaction (failed authentications)."""

    async def record_all(self, events: Sequence[AuditEvent]) -> None:
        """Append audit events in one transaction (the aggregated failures of an interval)."""

    def start(self) -> None:
        """Begin following other workers' changes (a server does; a CLI command need not)."""

    def forget(self) -> None:
        """Drop every kept read: this worker has just committed a change another way."""

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SigningKeyMaterial:
    """A new signing key as stored: the public JWK, and the private one encrypted."""

    kid: str
    alg: str
    public_jwk: Mapping[str, object]
    private_jwk_encrypted: str
