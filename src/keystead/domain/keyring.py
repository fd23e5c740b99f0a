"""The server key ring: several server keys, the current one first, each known by a key id.

Every keyed digest, sealed token and value encrypted at rest is made with the *current* key and
names the key it was made with (a key id beside a stored digest, inside a sealed token, in front
of a code, refresh token or session id), so it is checked with exactly that key: one dictionary
lookup, never a trial of every key. Taking a key out of the ring is what ends the values it made.

Subkeys, one per purpose so that values never cross-match, are derived once at start-up:
HKDF-SHA-256 (RFC 5869) with the purpose as ``info`` for a key given with a key id. The former
single ``KEYSTEAD_SECRET_KEY`` keeps the derivation it always had (HMAC-SHA-256 of the purpose
under the key: "version 0"), and a key id derived from the key itself, so every digest, token
and encrypted value made before the ring existed stays valid with no data migration.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_LENGTH = 32
# Letters and digits only: a key id is written into tokens and codes beside "-" and "." marks.
KEY_ID_SHAPE = re.compile(r"[A-Za-z0-9]{1,16}")
HKDF_SALT = b"keystead server key ring"


class Purpose(StrEnum):
    """What a subkey is for; the value is the label it is derived with (never change one)."""

    client_secret = "keystead client secret"  # noqa: S105 - a label, not a credential
    token = "keystead token"  # noqa: S105 - a label
    jwt_id = "keystead jwt id"
    session = "keystead session"
    grant = "keystead grant"
    at_rest = "keystead at-rest secrets"
    opaque_token = "keystead opaque access token"  # noqa: S105 - a label
    signing_key_cipher = "keystead signing-key encryption"
    audit_archive = "keystead audit archive"
    invitation = "keystead invitation"


class KeyRingError(ValueError):
    """The ring setting is malformed; the message names the entry and the rule."""


def fingerprint(material: bytes) -> str:
    """The key id of a key given without one: stable, so values made under it stay findable."""
    return hmac.new(material, b"kid", hashlib.sha256).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class ServerKey:
    kid: str
    material: bytes = field(repr=False)
    # Derived the pre-ring way: the former single KEYSTEAD_SECRET_KEY (its kid is its fingerprint).
    legacy: bool = False
    _subkeys: dict[Purpose, bytes] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for purpose in Purpose:
            self._subkeys[purpose] = self._derive(purpose)

    def subkey(self, purpose: Purpose) -> bytes:
        return self._subkeys[purpose]

    def _derive(self, purpose: Purpose) -> bytes:
        label = purpose.value.encode()
        if not self.legacy:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT,
                        info=label).derive(self.material)
        if purpose is Purpose.signing_key_cipher:  # how it has always been derived
            return hashlib.sha256(label + b"\0" + self.material).digest()
        return hmac.new(self.material, label, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Server keys, the current first; ``legacy`` made the values that name no key."""

    keys: tuple[ServerKey, ...]
    _by_kid: dict[str, ServerKey] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the server key ring is empty: set KEYSTEAD_SECRET_KEY or "
                               "KEYSTEAD_SECRET_KEYS")
        for key in self.keys:
            if key.kid in self._by_kid:
                raise KeyRingError(f"key id {key.kid!r} appears twice in the server key ring; "
                                   "give every key its own id")
            self._by_kid[key.kid] = key
        if sum(k.legacy for k in self.keys) > 1:
            raise KeyRingError("only one key may be given without a key id (the former "
                               "KEYSTEAD_SECRET_KEY); name the others kid:key")

    @property
    def current(self) -> ServerKey:
        return self.keys[0]

    @property
    def legacy(self) -> ServerKey | None:
        return next((k for k in self.keys if k.legacy), None)

    def find(self, kid: str | None) -> ServerKey | None:
        """The key with this id; ``None`` names the pre-ring key. None when not in the ring."""
        return self.legacy if kid is None else self._by_kid.get(kid)

    @classmethod
    def parse(cls, ring: str, *, single: str = "", min_length: int = MIN_KEY_LENGTH) -> KeyRing:
        """The ring from ``KEYSTEAD_SECRET_KEYS`` (``kid:key`` entries, comma-separated, current
        first) followed by the single ``KEYSTEAD_SECRET_KEY`` when it is set and not already in.

        Raises:
            KeyRingError: an entry is malformed, a key id repeats, or a ring key is too short.
        """
        keys: list[ServerKey] = []
        entries = [e.strip() for e in ring.split(",")] if ring.strip() else []
        for position, entry in enumerate(entries, start=1):
            kid, sep, material = entry.partition(":")
            if not sep:
                kid, material = "", entry
            if not material:
                raise KeyRingError(f"KEYSTEAD_SECRET_KEYS entry {position} is empty; write "
                                   "kid:key entries separated by commas")
            if kid and not KEY_ID_SHAPE.fullmatch(kid):
                raise KeyRingError(f"KEYSTEAD_SECRET_KEYS entry {position}: the key id must be "
                                   "1 to 16 letters or digits")
            if len(material) < min_length:
                raise KeyRingError(f"KEYSTEAD_SECRET_KEYS entry {position} ({kid or 'no id'}): "
                                   f"the key must be at least {min_length} characters")
            keys.append(_key(kid, material.encode()))
        if single and all(k.material != single.encode() for k in keys):
            keys.append(_key("", single.encode()))
        return cls(tuple(keys))


def _key(kid: str, material: bytes) -> ServerKey:
    # A key named by its own fingerprint is the former single key written out in full.
    own = fingerprint(material)
    return ServerKey(kid or own, material, legacy=kid in ("", own))
