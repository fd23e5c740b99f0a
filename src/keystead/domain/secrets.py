"""Client secrets and tokens: 256-bit random values, known to the store only by keyed digest.

High-entropy values need no slow password hash: HMAC-SHA-256 under a server pepper makes a
stolen table useless without the pepper, and costs microseconds on the token hot path.

The pepper is a subkey of a key of the server key ring (``domain/keyring.py``). A value the
store looks up by its digest (a code, a refresh token, a session id, a JWT's ``jti``) carries
the id of the key that digests it in front of it, ``<kid>.<random>``; one without (made before
the ring) is digested by the former single key. A digest stored beside a known record (a
client secret) has its key id stored beside it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from keystead.domain.keyring import KeyRing, Purpose, ServerKey

SECRET_BYTES = 32
KEY_ID_MARK = "."


def new_secret() -> str:
    """A fresh URL-safe secret carrying 256 bits of randomness."""
    return _random.token_urlsafe(SECRET_BYTES)


def fingerprint(secret: str) -> str:
    """What tells secrets apart without helping to guess one: the first 8 hex characters of the
    secret's SHA-256, which its holder computes with ``printf %s "$SECRET" | sha256sum | cut
    -c1-8``. 32 bits of an unkeyed hash say nothing useful about 256 random bits."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def key_id_of(value: str) -> str | None:
    """The key id a tagged value names; None for one made before the ring."""
    kid, mark, _ = value.partition(KEY_ID_MARK)
    return kid if mark else None


def _hexdigest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class Digester:
    """Keyed digests of secrets and tokens, one subkey per purpose so digests never cross-match.

    Every subkey of every ring key is derived once, at start-up: a digest costs one dictionary
    lookup and one HMAC.
    """

    __slots__ = ("_current", "_keys", "_ring")

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._current = ring.current
        # kid -> purpose -> subkey; the key id None names the pre-ring (legacy) key.
        self._keys: dict[str | None, dict[Purpose, bytes]] = {
            k.kid: {p: k.subkey(p) for p in Purpose} for k in ring.keys}
        if ring.legacy is not None:
            self._keys[None] = self._keys[ring.legacy.kid]

    @property
    def current_kid(self) -> str:
        return self._current.kid

    def knows(self, kid: str | None) -> bool:
        """Whether a digest keyed with ``kid`` (None: the pre-ring key) can be checked."""
        return kid in self._keys

    def is_current(self, kid: str | None) -> bool:
        """Whether ``kid`` (None: the pre-ring key) is the key new values are made with."""
        return kid == self._current.kid or (kid is None and self._current.legacy)

    def _under(self, kid: str | None, purpose: Purpose, value: str) -> str | None:
        keys = self._keys.get(kid)
        return None if keys is None else _hexdigest(keys[purpose], value)

    def tagged(self, random: str) -> str:
        """A new value that names the current key, so its digest can be found again."""
        return f"{self._current.kid}{KEY_ID_MARK}{random}"

    def new_grant(self) -> tuple[str, str]:
        """A new code or refresh token naming the current key, and its digest."""
        value = self.tagged(_random.token_urlsafe(SECRET_BYTES))
        return value, _hexdigest(self._current.subkey(Purpose.grant), value)

    def new_session(self) -> tuple[str, str]:
        """A new console session id naming the current key, and its digest."""
        value = self.tagged(_random.token_urlsafe(SECRET_BYTES))
        return value, _hexdigest(self._current.subkey(Purpose.session), value)

    # Client secrets: the key id is stored beside the digest.
    def secret(self, value: str) -> str:
        """The digest of a new secret, under the current key (store ``current_kid`` beside it)."""
        return _hexdigest(self._current.subkey(Purpose.client_secret), value)

    def secret_under(self, kid: str | None, value: str) -> str | None:
        """The digest under the key a stored digest names; None when it left the ring."""
        return self._under(kid, Purpose.client_secret, value)

    def new_invitation(self) -> tuple[str, str]:
        """A new invitation link token (256 random bits) naming the current key, its digest."""
        value = self.tagged(_random.token_urlsafe(SECRET_BYTES))
        return value, _hexdigest(self._current.subkey(Purpose.invitation), value)

    def invitation(self, value: str) -> str | None:
        """An invitation token's digest; None when the key it names left the ring."""
        return self._under(key_id_of(value), Purpose.invitation, value)

    # Values found by their digest: the key id comes from the value.
    def token(self, value: str, kid: str | None) -> str | None:
        """An opaque access token, under the key that sealed it."""
        return self._under(kid, Purpose.token, value)

    def jwt_id(self, jti: str) -> str | None:
        """A JWT's ``jti`` is public: its digest must never match an opaque token's."""
        return self._under(key_id_of(jti), Purpose.jwt_id, jti)

    def session(self, value: str) -> str | None:
        """Console session ids."""
        return self._under(key_id_of(value), Purpose.session, value)

    def grant(self, value: str) -> str | None:
        """Authorization codes and refresh tokens; None when the key they name left the ring."""
        return self._under(key_id_of(value), Purpose.grant, value)

    # Values a person types (recovery codes) carry no key id: they are checked under each key.
    def recovery(self, code: str) -> str:
        return _hexdigest(self._current.subkey(Purpose.session), code)

    def recovery_candidates(self, code: str) -> list[str]:
        return [_hexdigest(k.subkey(Purpose.session), code) for k in self._ring.keys]

    # CSRF tokens are computed, never stored: made under the current key, accepted under any.
    def csrf(self, binding: str) -> str:
        return _hexdigest(self._current.subkey(Purpose.session), f"csrf\0{binding}")

    def csrf_matches(self, binding: str, sent: str) -> bool:
        found = False
        for key in self._ring.keys:  # every key, so timing does not tell which matched
            expected = _hexdigest(key.subkey(Purpose.session), f"csrf\0{binding}")
            found |= hmac.compare_digest(expected.encode(), sent.encode())
        return found


def digests_match(expected: str, candidate: str) -> bool:
    return hmac.compare_digest(expected, candidate)


def ring_cipher(ring: KeyRing, purpose: Purpose) -> MultiFernet:
    """Fernet under every ring key: encrypts with the current key, decrypts with any."""
    return MultiFernet([_fernet(k, purpose) for k in ring.keys])


def sealed_by(ring: KeyRing, purpose: Purpose, sealed: str) -> str | None:
    """The id of the ring key that encrypted ``sealed``; None when none did."""
    for key in ring.keys:
        try:
            _fernet(key, purpose).decrypt(sealed.encode())
        except InvalidToken:
            continue
        return key.kid
    return None


def resealed(cipher: MultiFernet, sealed: str) -> str | None:
    """``sealed`` encrypted again under the current ring key; None when no ring key opens it."""
    try:
        return cipher.rotate(sealed.encode()).decode()
    except InvalidToken:
        return None


def _fernet(key: ServerKey, purpose: Purpose) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key.subkey(purpose)))


class SecretBox:
    """Encrypts values that must be read back (TOTP secrets, a secret awaiting its one showing)."""

    __slots__ = ("_fernet",)

    def __init__(self, ring: KeyRing) -> None:
        self._fernet = ring_cipher(ring, Purpose.at_rest)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The value, or None when it was not sealed under any key of the ring."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None

    def reseal(self, sealed: str) -> str | None:
        """The value sealed again under the current key; None when no ring key opens it."""
        return resealed(self._fernet, sealed)
