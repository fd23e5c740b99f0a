"""User passwords: the policy a new password must meet, and argon2id hashing (argon2-cffi)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from keystead.domain.errors import Problem

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 copes with more; a cap keeps a request from costing megabytes


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("keystead.domain").joinpath("data/common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def check_password(password: str, *, email: str = "", field: str = "password") -> list[Problem]:
    """Why ``password`` may not be used (empty when it may)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return [Problem(field, "password.length",
                        f"the password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")]
    lowered = password.lower()
    if lowered in common_passwords():
        return [Problem(field, "password.common",
                        "this password is on a list of commonly used passwords; choose another")]
    if len(set(password)) < 4:
        return [Problem(field, "password.repetitive",
                        "the password repeats too few characters; choose a less guessable one")]
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return [Problem(field, "password.contains.email",
                        "the password must not contain your e-mail name")]
    return []


class Passwords:
    """argon2id; by default RFC 9106's second recommended profile (64 MiB, 3 passes)."""

    __slots__ = ("_dummy", "_hasher")

    def __init__(self, *, memory_kib: int = 65_536, time_cost: int = 3) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=4)
        self._dummy = ""

    @property
    def dummy(self) -> str:
        """Verified against when the e-mail is unknown, so timing does not tell which it was."""
        if not self._dummy:
            self._dummy = self._hasher.hash("keystead: no such user")
        return self._dummy

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when ``password_hash`` was made with other argon2 parameters than the configured
        ones (type, memory, passes, parallelism, lengths): re-hash it while the password is
        known."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False  # not ours to fix here: verify() has refused it already

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self.dummy, password) and (
                password_hash is not None)
        except (VerificationError, InvalidHashError):
            return False
