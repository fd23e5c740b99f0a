"""Client secrets and tokens: 256-bit random values, known to the store only by keyed digest.

High-entropy values need no slow password hash: HMAC-SHA-256 under a server pepper makes a
stolen table useless without the pepper, and costs microseconds on the token hot path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh URL-safe secret carrying 256 bits of randomness."""
    return _random.token_urlsafe(SECRET_BYTES)


class Digester:
    """Keyed digests of secrets and tokens, one key per purpose so digests never cross-match."""

    __slots__ = ("_jwt_id_key", "_secret_key", "_token_key")

    def __init__(self, server_key: bytes) -> None:
        self._secret_key = hmac.new(server_key, b"keystead client secret", hashlib.sha256).digest()
        self._token_key = hmac.new(server_key, b"keystead token", hashlib.sha256).digest()
        self._jwt_id_key = hmac.new(server_key, b"keystead jwt id", hashlib.sha256).digest()

    def secret(self, value: str) -> str:
        return hmac.new(self._secret_key, value.encode(), hashlib.sha256).hexdigest()

    def token(self, value: str) -> str:
        return hmac.new(self._token_key, value.encode(), hashlib.sha256).hexdigest()

    def jwt_id(self, jti: str) -> str:
        """A JWT's ``jti`` is public: its digest must never match an opaque token's."""
        return hmac.new(self._jwt_id_key, jti.encode(), hashlib.sha256).hexdigest()


def digests_match(expected: str, candidate: str) -> bool:
    return hmac.compare_digest(expected, candidate)
