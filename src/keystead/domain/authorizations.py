"""A user's authorization of a client: consent, codes, grant families and refresh tokens.

One authorization code (or SAML assertion) starts a grant family; every access and refresh
token issued from it carries the family id, so revoking the family stops all of them at once
(a replayed code or refresh token does exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """What the authorization endpoint needs to know about a client."""

    id: str
    name: str
    description: str
    active: bool
    grant_types: frozenset[str]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    is_public: bool
    require_pkce: bool


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    digest: str
    family_id: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    nonce: str | None
    auth_time: datetime
    amr: tuple[str, ...]
    expires_at: datetime
    consumed_at: datetime | None = None
    # The console session it was minted in (digest): the code dies with the session.
    session_digest: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    digest: str
    family_id: str
    client_id: str
    user_id: str
    scope: str
    auth_time: datetime
    amr: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Person:
    """What tokens and ID tokens say about a user."""

    id: str
    email: str
    name: str
    state: str


@dataclass(frozen=True, slots=True)
class Consent:
    scopes: tuple[str, ...]  # what the user allowed
    client_scopes: tuple[str, ...]  # the client's scopes when they allowed it
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class Authorization:
    """One client a user has authorized (the Genesys OAuthAuthorization shape, roughly)."""

    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: datetime


class CodeStore(Protocol):
    """Authorization codes: single use, consumed atomically."""

    async def add(self, code: AuthorizationCode) -> None: ...
    async def consume(self, digest: str, *, now: datetime,
                      sessions_seen_after: datetime) -> AuthorizationCode | None:
        """Mark the code used and return it; None if unknown, expired, used already, its
        family is revoked or past its deadline, or the console session it was minted in has
        ended (signed out, past its lifetime, or not seen since ``sessions_seen_after``)."""

    async def find_consumed(self, digest: str) -> AuthorizationCode | None: ...


class RefreshTokenStore(Protocol):
    async def add(self, grant: RefreshGrant) -> None: ...
    async def use(self, digest: str, *, now: datetime, rotate: bool) -> RefreshGrant | None:
        """The live refresh token (marked used when ``rotate``); None if unknown, expired, used
        or its family is revoked or past its deadline."""

    async def find(self, digest: str) -> RefreshGrant | None: ...


class GrantFamilyStore(Protocol):
    async def start(self, family_id: str, *, client_id: str, user_id: str,
                    now: datetime, expires_at: datetime) -> None:
        """A new family; ``expires_at`` is its absolute deadline, never moved."""

    async def expires_at(self, family_id: str) -> datetime | None:
        """The family's absolute deadline; None if there is no such family."""

    async def revoke(self, family_id: str, *, now: datetime) -> None: ...


class PersonDirectory(Protocol):
    async def find(self, user_id: str) -> Person | None: ...


class AuthorizationStore(Protocol):
    """The stores a token request reads and writes, over one transaction of the request."""

    @property
    def codes(self) -> CodeStore: ...
    @property
    def refresh_tokens(self) -> RefreshTokenStore: ...
    @property
    def families(self) -> GrantFamilyStore: ...
    @property
    def people(self) -> PersonDirectory: ...


class ConsentStore(Protocol):
    async def consent(self, user_id: str, client_id: str) -> Consent | None: ...
    async def save_consent(self, user_id: str, client_id: str, consent: Consent) -> None: ...
    async def authorizations(self, user_id: str) -> list[Authorization]: ...
    async def revoke_client(self, user_id: str, client_id: str, *, now: datetime) -> bool:
        """Forget the consent and revoke every family of the pair; False if there was none."""


def covers(consent: Consent | None, *, requested: tuple[str, ...],
           client_scopes: tuple[str, ...]) -> bool:
    """True when the user already allowed ``requested`` and the client's scopes are unchanged."""
    return (consent is not None and set(requested) <= set(consent.scopes)
            and set(consent.client_scopes) == set(client_scopes))
