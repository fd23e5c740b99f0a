"""Access tokens: issuing (opaque or RFC 9068 JWT) and validating them against live state.

Both formats are recorded by keyed digest (of the opaque value, or of the JWT's ``jti``), so a
revocation, a disabled or deleted client is seen by the very next validation on every replica.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from keystead.domain.clients import TokenFormat
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord, HotStore, TokenRecord
from keystead.protocol.errors import InvalidTokenError
from keystead.protocol.keys import ALG


class InactiveReason(StrEnum):
    unknown = "unknown"
    expired = "expired"
    revoked = "revoked"
    client_disabled = "client disabled"
    client_deleted = "client deleted"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class ActiveToken:
    record: TokenRecord
    scopes: frozenset[str]  # what the token may still do: issued scope ∩ client's current scopes

    @property
    def client_id(self) -> str:
        return self.record.client_id


@dataclass(frozen=True, slots=True)
class Signer:
    kid: str
    key: ECKey
    verify_keys: KeySet


@dataclass(slots=True)
class TokenService:
    store: HotStore
    digester: Digester
    clock: Callable[[], datetime]
    issuer: str
    signer: Signer

    async def issue(self, client: ClientRecord, *, scope: tuple[str, ...],
                    subject_id: str | None = None) -> IssuedToken:
        now = self.clock()
        ttl = client.token_ttl_seconds
        expires_at = now + timedelta(seconds=ttl)
        scope_text = " ".join(scope)
        if client.token_format == TokenFormat.jwt:
            jti = secrets.token_urlsafe(16)
            value = self._jwt(client, jti=jti, scope=scope_text, now=now, ttl=ttl,
                              subject_id=subject_id)
            digest = self.digester.jwt_id(jti)
        else:
            value = secrets.token_urlsafe(32)
            digest = self.digester.token(value)
        await self.store.add_token(TokenRecord(
            digest=digest, client_id=client.id, subject_id=subject_id, scope=scope_text,
            roles=client.roles, issued_at=now, expires_at=expires_at, revoked_at=None,
            client_state=client.state, client_scopes=client.scopes))
        return IssuedToken(value, ttl, scope_text)

    def _jwt(self, client: ClientRecord, *, jti: str, scope: str, now: datetime, ttl: int,
             subject_id: str | None) -> str:
        iat = int(now.timestamp())
        claims = {
            "iss": self.issuer, "sub": subject_id or client.id, "aud": self.issuer,
            "client_id": client.id, "iat": iat, "exp": iat + ttl, "jti": jti, "scope": scope,
            "roles": [{"roleId": r, "divisionId": d} for r, d in client.roles],
        }
        header = {"alg": ALG, "typ": "at+jwt", "kid": self.signer.kid}  # RFC 9068 §2.1
        return jwt.encode(header, claims, self.signer.key, algorithms=[ALG])

    def digest_of(self, token: str) -> str | None:
        """The stored digest for a presented token; None if it is a JWT we did not sign."""
        if token.count(".") != 2:
            return self.digester.token(token)
        try:
            decoded = jwt.decode(token, self.signer.verify_keys, algorithms=[ALG])
        except (JoseError, ValueError):
            return None
        jti = decoded.claims.get("jti")
        return self.digester.jwt_id(jti) if isinstance(jti, str) else None

    async def validate(self, token: str) -> ActiveToken:
        """Return the token if active now.

        Raises:
            InvalidTokenError: with the reason (expired, revoked, client disabled or deleted).
        """
        digest = self.digest_of(token) if len(token) <= 4096 else None
        record = await self.store.token(digest) if digest else None
        reason = self._inactive_reason(record)
        if reason is not None or record is None:
            raise InvalidTokenError(f"the access token is {reason or InactiveReason.unknown}")
        scopes = frozenset(record.scope.split()) & frozenset(record.client_scopes)
        return ActiveToken(record, scopes)

    def _inactive_reason(self, record: TokenRecord | None) -> InactiveReason | None:
        if record is None:
            return InactiveReason.unknown
        if record.client_state == "deleted":
            return InactiveReason.client_deleted
        if record.client_state != "active":
            return InactiveReason.client_disabled
        if record.revoked_at is not None:
            return InactiveReason.revoked
        if record.expires_at <= self.clock():
            return InactiveReason.expired
        return None
