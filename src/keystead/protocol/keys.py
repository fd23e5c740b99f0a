"""Signing keys (RFC 7517/7518): ES256 keys, encrypted at rest, published as a JWK Set.

Rotation without a flag day: a new key is published in the JWK Set ``PUBLISH_DELAY`` before any
replica signs with it (each replica reloads keys every minute), and a retired key stays
published until every token it signed has expired (its ``retire_after``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from cryptography.fernet import MultiFernet
from joserfc.jwk import ECKey, KeySet

from keystead.domain.keyring import KeyRing, Purpose
from keystead.domain.secrets import ring_cipher
from keystead.domain.tokens import SigningKeyMaterial

ALG = "ES256"
# A public key as JSON (RFC 7517 §4), as joserfc reads and writes it.
PublicJwk: TypeAlias = dict[str, str | list[str]]


def key_cipher(ring: KeyRing) -> MultiFernet:
    """Private keys at rest: encrypted under the current ring key, read under any ring key."""
    return ring_cipher(ring, Purpose.signing_key_cipher)


def generate_key(cipher: MultiFernet) -> SigningKeyMaterial:
    key = ECKey.generate_key("P-256", auto_kid=True)
    public = key.as_dict(private=False) | {"alg": ALG, "use": "sig"}
    private = json.dumps(key.as_dict(private=True)).encode()
    return SigningKeyMaterial(str(key.kid), ALG, public, cipher.encrypt(private).decode())


def load_private(cipher: MultiFernet, encrypted: str) -> ECKey:
    return ECKey.import_key(json.loads(cipher.decrypt(encrypted.encode())))


def jwk_set(public_jwks: list[PublicJwk]) -> KeySet:
    return KeySet.import_key_set({"keys": public_jwks})


PUBLISH_DELAY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    public_jwk: PublicJwk
    private_jwk_encrypted: str
    date_created: datetime
    retire_after: datetime | None


def published(keys: Sequence[StoredKey], now: datetime) -> list[StoredKey]:
    """The keys in the JWK Set: all but those retired past their last token's expiry."""
    return [k for k in keys if k.retire_after is None or k.retire_after > now]


def signing_key(keys: Sequence[StoredKey], now: datetime) -> StoredKey | None:
    """The newest key every replica has had time to publish (the newest of all at first)."""
    live = sorted(published(keys, now), key=lambda k: k.date_created)
    ready = [k for k in live if k.date_created <= now - PUBLISH_DELAY]
    if ready:
        return ready[-1]
    return live[0] if live else None
