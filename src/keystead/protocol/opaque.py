"""Opaque access tokens that prove themselves: AES-256-GCM sealed claims.

To a client the token is an opaque string (RFC 6749 §1.4). To Keystead it is authenticated
encryption of who it was issued to, when, until when, for what scope and audience, and whether
the implicit grant issued it, so issuing one needs no write on the request path and checking one
needs no token-table lookup to trust its claims.
Revocation, disabled and deleted clients are still checked live on every validation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "ks1."
NONCE_BYTES = 12
_SEPARATOR = "\x1f"  # cannot occur in a client id, subject id or scope token
MAX_TOKEN_LENGTH = 4096
LEGACY_FIELDS = 6  # sealed before audiences: accepted until they expire


@dataclass(frozen=True, slots=True)
class Sealed:
    client_id: str
    subject_id: str | None
    scope: str
    # Microseconds since the epoch: revocation cut-offs need sub-second order.
    issued_at_us: int
    expires_at_us: int
    family_id: str | None = None  # user tokens: the grant family revocation reaches
    # Space-separated audiences, the issuer written "~" to keep the token short; None for a
    # token sealed before tokens carried an audience (six fields instead of eight).
    audience: str | None = None
    implicit: bool = False  # issued by the implicit grant: never for the management API


class OpaqueTokens:
    __slots__ = ("_aead",)

    def __init__(self, server_key: bytes) -> None:
        key = hmac.new(server_key, b"keystead opaque access token", hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, claims: Sealed) -> str:
        plain = _SEPARATOR.join((claims.client_id, claims.subject_id or "", claims.scope,
                                 str(claims.issued_at_us), str(claims.expires_at_us),
                                 claims.family_id or "", claims.audience or "",
                                 "i" if claims.implicit else ""))
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain.encode(), PREFIX.encode())
        return PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, token: str) -> Sealed | None:
        """The claims of a token Keystead sealed; None for anything else (forged, altered)."""
        if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        body = token[len(PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], PREFIX.encode())
            fields = plain.decode().split(_SEPARATOR)
            audience: str | None = None
            via = ""
            if len(fields) != LEGACY_FIELDS:
                *fields, audience, via = fields
            client_id, subject, scope, issued, expires, family = fields
            return Sealed(client_id, subject or None, scope, int(issued), int(expires),
                          family or None, audience, via == "i")
        except (binascii.Error, ValueError, InvalidTag):
            return None
