"""Access tokens: issuing (sealed opaque, or RFC 9068 JWT) and validating them against live state.

A token proves its own claims (AES-GCM or ES256), so issuing one writes nothing on the request
path: the store counts it for the client's usage, in memory, and keeps only revoked tokens, by
the keyed digest of the opaque value or of the JWT's ``jti``. Every validation still reads the
client's live state and the token's revocation by primary key, so a revocation, a disabled or
deleted client is seen at the very next request on every replica.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from keystead.domain.audiences import audience_of
from keystead.domain.clients import TokenFormat
from keystead.domain.scopes import OIDC_SCOPES
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord, HotStore, TokenClaims, TokenRecord
from keystead.protocol.errors import InvalidTargetError, InvalidTokenError
from keystead.protocol.keys import ALG, PublicJwk
from keystead.protocol.opaque import MAX_TOKEN_LENGTH, OpaqueTokens, Sealed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OPENED_LIMIT = 10_000
# A private claim (RFC 7519 §4.3) marking how a token was issued; only "implicit" is written.
VIA_CLAIM = "ks_via"
IMPLICIT = "implicit"
ISSUER_MARK = "~"  # an opaque token writes the issuer at the start of an audience as this


class InactiveReason(StrEnum):
    unknown = "unknown"
    expired = "expired"
    revoked = "revoked"
    client_disabled = "client disabled"
    client_deleted = "client deleted"
    user_inactive = "user inactive"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveToken:
    record: TokenRecord
    scopes: frozenset[str]  # what the token may still do: issued scope ∩ client's current scopes

    @property
    def client_id(self) -> str:
        return self.record.client_id


@dataclass(slots=True)
class Signer:
    """The key that signs now and the keys that verify: replaced in place when keys rotate."""

    kid: str
    key: ECKey
    verify_keys: KeySet
    public_jwks: dict[str, list[PublicJwk]]  # the JWK Set (RFC 7517 §5)

    def use(self, kid: str, key: ECKey, published: list[PublicJwk]) -> None:
        self.kid, self.key = kid, key
        self.verify_keys = KeySet.import_key_set({"keys": published})
        self.public_jwks = {"keys": published}


@dataclass(slots=True)
class TokenService:
    store: HotStore
    digester: Digester
    opaque: OpaqueTokens
    clock: Callable[[], datetime]
    issuer: str
    signer: Signer
    # Opened opaque tokens: what one says never changes, and a resource server asks about the
    # same token at every call it serves. Validity (expiry, revocation, client) is checked anew.
    _opened: dict[str, TokenClaims] = field(default_factory=dict, init=False, repr=False)

    async def issue(self, client: ClientRecord, *, scope: tuple[str, ...],
                    subject_id: str | None = None, family_id: str | None = None,
                    ttl_seconds: int | None = None, implicit: bool = False,
                    resource: str | None = None) -> IssuedToken:
        """Mint a token; nothing is written on the request path (see ``HotStore``).

        A user token names its user (``subject_id``) and its grant family, which validation
        checks so that revoking the user's authorization stops it at once. Its audience comes
        from its scopes (domain/audiences.py); an ``implicit`` token is marked as such. With a
        ``resource`` (RFC 8707), only the scopes for that audience are kept.

        Raises:
            InvalidTargetError: no scope of the token is for ``resource``.
        """
        if resource is not None:
            scope = self._for_resource(client, scope, resource)
        now = self.clock()
        ttl = ttl_seconds or client.token_ttl_seconds
        issued_us = _microseconds(now)
        expires_us = issued_us + ttl * 1_000_000
        scope_text = " ".join(scope)
        audience, sealed_audience = _audience(scope, client.resource_servers, self.issuer,
                                              implicit=implicit)
        if client.token_format == TokenFormat.jwt:
            jti = self.digester.tagged(secrets.token_urlsafe(16))  # names its ring key
            value = self._jwt(client, jti=jti, scope=scope_text, issued_us=issued_us,
                              ttl=ttl, subject_id=subject_id, family_id=family_id,
                              audience=audience, implicit=implicit)
        else:
            value = self.opaque.seal(Sealed(client.id, subject_id, scope_text, issued_us,
                                            expires_us, family_id, sealed_audience,
                                            implicit))
        self.store.count_issued(client.id, now.astimezone(UTC).date())
        return IssuedToken(value, ttl, scope_text)

    def _for_resource(self, client: ClientRecord, scope: tuple[str, ...],
                      resource: str) -> tuple[str, ...]:
        """RFC 8707 §2: the scopes whose audience is ``resource``.

        Raises:
            InvalidTargetError: none is (an unknown, malformed or fragment-bearing URI
                included: it is no scope's audience).
        """
        kept = tuple(s for s in scope if _audience((s,), client.resource_servers, self.issuer,
                                                   implicit=False)[0] == (resource,))
        if not kept:
            raise InvalidTargetError("no scope of this request is for the resource requested")
        return kept

    def _jwt(self, client: ClientRecord, *, jti: str, scope: str, issued_us: int, ttl: int,
             subject_id: str | None, family_id: str | None, audience: tuple[str, ...],
             implicit: bool) -> str:
        iat = issued_us // 1_000_000
        claims: dict[str, object] = {
            # RFC 9068 §2.2: aud is REQUIRED. Always a list: a token signed before audiences
            # existed has the bare issuer string instead (see ``claims_of``).
            "iss": self.issuer, "sub": subject_id or client.id, "aud": list(audience),
            "client_id": client.id, "iat": iat, "exp": iat + ttl, "jti": jti,
            "scope": scope,
            # Whole-second iat cannot order a token against a revocation in the same second.
            "iat_us": issued_us,
        }
        if family_id is None:
            claims["roles"] = [{"roleId": r, "divisionId": d} for r, d in client.roles]
        else:
            claims["gid"] = family_id
        if implicit:
            claims[VIA_CLAIM] = IMPLICIT
        header = {"alg": ALG, "typ": "at+jwt", "kid": self.signer.kid}  # RFC 9068 §2.1
        return jwt.encode(header, claims, self.signer.key, algorithms=[ALG])

    def claims_of(self, token: str) -> TokenClaims | None:
        """What a token Keystead issued says about itself; None for anything else."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        if token.count(".") != 2:
            return self._opened.get(token) or self._open(token)
        try:
            claims = jwt.decode(token, self.signer.verify_keys, algorithms=[ALG]).claims
        except (JoseError, ValueError):
            return None
        jti, client_id, iat_us, iat, exp = (
            claims.get(k) for k in ("jti", "client_id", "iat_us", "iat", "exp"))
        if not (isinstance(jti, str) and isinstance(client_id, str) and isinstance(iat_us, int)
                and isinstance(iat, int) and isinstance(exp, int)):
            return None
        digest = self.digester.jwt_id(jti)
        if digest is None:  # its ring key was taken out: its revocation could not be found
            return None
        sub, gid, aud = claims.get("sub"), claims.get("gid"), claims.get("aud")
        scope = str(claims.get("scope", ""))
        if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
            audience = tuple(str(a) for a in aud)
        elif aud == self.issuer:
            audience = self._legacy_audience(scope)
        else:
            return None
        return TokenClaims(digest, client_id,
                           sub if isinstance(sub, str) and sub != client_id else None,
                           scope, _instant(iat_us),
                           _instant(iat_us + (exp - iat) * 1_000_000),
                           gid if isinstance(gid, str) else None, audience,
                           claims.get(VIA_CLAIM) == IMPLICIT)

    def _open(self, token: str) -> TokenClaims | None:
        sealed = self.opaque.open(token)
        digest = None if sealed is None else self.digester.token(token, sealed.key_id)
        if sealed is None or digest is None:
            return None
        audience = (self._legacy_audience(sealed.scope) if sealed.audience is None
                    else _expand(sealed.audience, self.issuer))
        claims = TokenClaims(digest, sealed.client_id, sealed.subject_id,
                             sealed.scope, _instant(sealed.issued_at_us),
                             _instant(sealed.expires_at_us), sealed.family_id, audience,
                             sealed.implicit)
        if len(self._opened) >= OPENED_LIMIT:
            self._opened.clear()
        self._opened[token] = claims
        return claims

    def _legacy_audience(self, scope: str) -> tuple[str, ...]:
        """A token issued before tokens carried an audience: what its scopes gave then.

        Such tokens worked on the management API with a built-in scope, so they keep doing so
        until they expire; an implicit one cannot be told apart, but lived 15 minutes at most.
        """
        return audience_of(scope.split(), issuer=self.issuer, resource_servers={})

    async def validate(self, token: str) -> ActiveToken:
        """Return the token if active now.

        Raises:
            InvalidTokenError: with the reason (expired, revoked, client disabled or deleted).
        """
        claims = self.claims_of(token)
        if claims is None:
            raise InvalidTokenError(f"the access token is {InactiveReason.unknown}")
        if claims.expires_at <= self.clock():
            raise InvalidTokenError(f"the access token is {InactiveReason.expired}")
        live = await self.store.live_state(claims.client_id, claims.digest)
        if live is None:
            raise InvalidTokenError(f"the access token is {InactiveReason.client_deleted}")
        if live.client_state != "active":
            raise InvalidTokenError(f"the access token is {InactiveReason.client_disabled}")
        cut_off = live.tokens_valid_after
        if live.revoked_at is not None or (cut_off is not None and claims.issued_at <= cut_off):
            raise InvalidTokenError(f"the access token is {InactiveReason.revoked}")
        if claims.family_id is not None:
            family = await self.store.family_state(claims.family_id)
            if family is None or family.revoked_at is not None:
                raise InvalidTokenError(f"the access token is {InactiveReason.revoked}")
            if family.user_state != "active":
                raise InvalidTokenError(f"the access token is {InactiveReason.user_inactive}")
        record = TokenRecord(
            digest=claims.digest, client_id=claims.client_id, subject_id=claims.subject_id,
            scope=claims.scope, roles=live.roles, issued_at=claims.issued_at,
            expires_at=claims.expires_at, client_scopes=live.client_scopes,
            family_id=claims.family_id, audience=claims.audience, implicit=claims.implicit)
        # What the token may still do: its scopes the client still has (and, for a user's
        # token, the OpenID Connect scopes the user consented to, which clients never hold).
        allowed = frozenset(live.client_scopes) | (
            frozenset(OIDC_SCOPES) if claims.subject_id is not None else frozenset())
        scopes = frozenset(claims.scope.split()) & allowed
        return ActiveToken(record, scopes)

    async def revoke(self, token: str, *, client_id: str | None) -> None:
        """RFC 7009 §2.1: revoke ``token`` if it is ``client_id``'s (anyone's when None)."""
        claims = self.claims_of(token)
        if claims is not None and client_id in (None, claims.client_id):
            await self.store.revoke(claims, now=self.clock())


# Pure functions of their arguments, so kept by value: a client asks for the same scopes again
# and again, and issuing then costs one dictionary look-up instead of ~8 µs (bench: this box).
@functools.lru_cache(maxsize=4096)
def _audience(scope: tuple[str, ...], resource_servers: tuple[tuple[str, str], ...], issuer: str,
              *, implicit: bool) -> tuple[tuple[str, ...], str]:
    """A token's audience, and the same as an opaque token seals it (the issuer written "~")."""
    audience = audience_of(scope, issuer=issuer, resource_servers=dict(resource_servers),
                           implicit=implicit)
    return audience, " ".join(ISSUER_MARK + a[len(issuer):] if a.startswith(issuer) else a
                              for a in audience)


@functools.lru_cache(maxsize=4096)
def _expand(sealed_audience: str, issuer: str) -> tuple[str, ...]:
    # An audience is an absolute URI, so none of its own starts with "~".
    return tuple(issuer + a[1:] if a.startswith(ISSUER_MARK) else a
                 for a in sealed_audience.split())


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _instant(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)
