"""Signing keys (RFC 7517/7518): ES256 keys, encrypted at rest, published as a JWK Set."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet
from joserfc.jwk import ECKey, KeySet

from keystead.domain.tokens import SigningKeyMaterial

ALG = "ES256"


def key_cipher(server_key: bytes) -> Fernet:
    """A Fernet cipher derived from the server key, for private keys at rest."""
    derived = hashlib.sha256(b"keystead signing-key encryption\0" + server_key).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def generate_key(cipher: Fernet) -> SigningKeyMaterial:
    key = ECKey.generate_key("P-256", auto_kid=True)
    public = key.as_dict(private=False) | {"alg": ALG, "use": "sig"}
    private = json.dumps(key.as_dict(private=True)).encode()
    return SigningKeyMaterial(str(key.kid), ALG, public, cipher.encrypt(private).decode())


def load_private(cipher: Fernet, encrypted: str) -> ECKey:
    return ECKey.import_key(json.loads(cipher.decrypt(encrypted.encode())))


def jwk_set(public_jwks: list[dict[str, Any]]) -> KeySet:
    return KeySet.import_key_set({"keys": public_jwks})
