"""OpenID Connect Core 1.0: ID tokens (§2, §3.1.3.6) and UserInfo claims (§5.3), ES256-signed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from joserfc import jwt

from keystead.domain.authorizations import Person
from keystead.protocol.keys import ALG
from keystead.protocol.tokens import Signer

ID_TOKEN_TTL_SECONDS = 3600


def claims_for(person: Person, scope: tuple[str, ...] | frozenset[str]) -> dict[str, object]:
    """§5.4: ``profile`` releases the name, ``email`` the e-mail address; ``sub`` always."""
    claims: dict[str, object] = {"sub": person.id}
    if "profile" in scope:
        claims["name"] = person.name
    if "email" in scope:
        claims["email"] = person.email
        claims["email_verified"] = False  # Keystead does not verify addresses
    return claims


@dataclass(frozen=True, slots=True)
class IdTokens:
    issuer: str
    signer: Signer

    def sign(self, *, client_id: str, person: Person, scope: tuple[str, ...],
             auth_time: datetime, amr: tuple[str, ...], nonce: str | None,
             now: datetime) -> str:
        iat = int(now.timestamp())
        claims: dict[str, object] = {
            **claims_for(person, scope),
            "iss": self.issuer, "aud": client_id, "azp": client_id, "iat": iat,
            "exp": iat + ID_TOKEN_TTL_SECONDS, "auth_time": int(auth_time.timestamp()),
            "amr": list(amr),  # RFC 8176: pwd, mfa, otp
        }
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"alg": ALG, "typ": "JWT", "kid": self.signer.kid}
        return jwt.encode(header, claims, self.signer.key, algorithms=[ALG])
