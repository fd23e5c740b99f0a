"""Client secrets and tokens: 256-bit random values, known to the store only by keyed digest.

High-entropy values need no slow password hash: HMAC-SHA-256 under a server pepper makes a
stolen table useless without the pepper, and costs microseconds on the token hot path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

from cryptography.fernet import Fernet, InvalidToken

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh URL-safe secret carrying 256 bits of randomness."""
    return _random.token_urlsafe(SECRET_BYTES)


class Digester:
    """Keyed digests of secrets and tokens, one key per purpose so digests never cross-match."""

    __slots__ = ("_grant_key", "_jwt_id_key", "_secret_key", "_session_key", "_token_key")

    def __init__(self, server_key: bytes) -> None:
        self._secret_key = hmac.new(server_key, b"keystead client secret", hashlib.sha256).digest()
        self._token_key = hmac.new(server_key, b"keystead token", hashlib.sha256).digest()
        self._jwt_id_key = hmac.new(server_key, b"keystead jwt id", hashlib.sha256).digest()
        self._session_key = hmac.new(server_key, b"keystead session", hashlib.sha256).digest()
        self._grant_key = hmac.new(server_key, b"keystead grant", hashlib.sha256).digest()

    def secret(self, value: str) -> str:
        return hmac.new(self._secret_key, value.encode(), hashlib.sha256).hexdigest()

    def token(self, value: str) -> str:
        return hmac.new(self._token_key, value.encode(), hashlib.sha256).hexdigest()

    def session(self, value: str) -> str:
        """Console session ids, recovery codes and CSRF tokens are keyed here."""
        return hmac.new(self._session_key, value.encode(), hashlib.sha256).hexdigest()

    def grant(self, value: str) -> str:
        """Authorization codes and refresh tokens."""
        return hmac.new(self._grant_key, value.encode(), hashlib.sha256).hexdigest()

    def jwt_id(self, jti: str) -> str:
        """A JWT's ``jti`` is public: its digest must never match an opaque token's."""
        return hmac.new(self._jwt_id_key, jti.encode(), hashlib.sha256).hexdigest()


def digests_match(expected: str, candidate: str) -> bool:
    return hmac.compare_digest(expected, candidate)


class SecretBox:
    """Encrypts values that must be read back (TOTP secrets, a secret awaiting its one showing)."""

    __slots__ = ("_fernet",)

    def __init__(self, server_key: bytes) -> None:
        derived = hmac.new(server_key, b"keystead at-rest secrets", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The value, or None when it was not sealed under this server key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
