"""Opaque access tokens that prove themselves: AES-256-GCM sealed claims.

To a client the token is an opaque string (RFC 6749 §1.4). To Keystead it is authenticated
encryption of who it was issued to, when, until when, for what scope and audience, and whether
the implicit grant issued it, so issuing one needs no write on the request path and checking one
needs no token-table lookup to trust its claims.
Revocation, disabled and deleted clients are still checked live on every validation.

``ks2-<kid>.<sealed>``: the key id names the server key ring entry that sealed it (and is bound
to it as associated data), so opening picks the key in one dictionary lookup. ``ks1.<sealed>``
tokens, made before the ring, are opened with the former single key.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keystead.domain.keyring import KeyRing, Purpose

PREFIX = "ks2-"
LEGACY_PREFIX = "ks1."
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
    key_id: str | None = None  # the ring key that sealed it (None: the pre-ring key); set on open


class OpaqueTokens:
    __slots__ = ("_current", "_legacy", "_opening")

    def __init__(self, ring: KeyRing) -> None:
        # kid -> (cipher, associated data): built once, so opening is one lookup and one AES op.
        self._opening = {k.kid: (AESGCM(k.subkey(Purpose.opaque_token)),
                                 f"{PREFIX}{k.kid}.".encode()) for k in ring.keys}
        self._current = ring.current.kid
        legacy = ring.legacy
        self._legacy = None if legacy is None else AESGCM(legacy.subkey(Purpose.opaque_token))

    def seal(self, claims: Sealed) -> str:
        plain = _SEPARATOR.join((claims.client_id, claims.subject_id or "", claims.scope,
                                 str(claims.issued_at_us), str(claims.expires_at_us),
                                 claims.family_id or "", claims.audience or "",
                                 "i" if claims.implicit else ""))
        aead, head = self._opening[self._current]
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + aead.encrypt(nonce, plain.encode(), head)
        return head.decode() + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, token: str) -> Sealed | None:
        """The claims of a token Keystead sealed with a key still in the ring; None for anything
        else (forged, altered, or sealed by a key taken out of the ring)."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        if token.startswith(PREFIX):
            kid, dot, body = token[len(PREFIX):].partition(".")
            opening = self._opening.get(kid) if dot else None
            if opening is None:
                return None
            aead, head = opening
            key_id: str | None = kid
        elif token.startswith(LEGACY_PREFIX) and self._legacy is not None:
            aead, head, body, key_id = (self._legacy, LEGACY_PREFIX.encode(),
                                        token[len(LEGACY_PREFIX):], None)
        else:
            return None
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], head)
            fields = plain.decode().split(_SEPARATOR)
            audience: str | None = None
            via = ""
            if len(fields) != LEGACY_FIELDS:
                *fields, audience, via = fields
            client_id, subject, scope, issued, expires, family = fields
            return Sealed(client_id, subject or None, scope, int(issued), int(expires),
                          family or None, audience, via == "i", key_id)
        except (binascii.Error, ValueError, InvalidTag):
            return None
