"""User passwords: the policy a new password must meet, and argon2id hashing (argon2-cffi).

How guessable a password is comes from zxcvbn (the maintained Python port of Dropbox's
estimator): it matches against ~30,000 passwords from public breaches, English words, names,
dates, keyboard walks, repeats, sequences and l33t substitutions, and estimates the guesses an
attacker needs. NIST SP 800-63B §5.1.1.2 asks verifiers to refuse passwords found in breach
corpuses, dictionary words and context-specific words (the user's e-mail, the service's name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from keystead.domain.errors import Problem

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 copes with more; a cap keeps a request from costing megabytes
# zxcvbn's score 3: "safely unguessable", under 10^10 guesses is refused (protects against an
# offline attack on a slow hash; our hashes are argon2id).
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows quickly with length); a longer password is
# judged by its first 72 characters, which a strong password passes on its own.
ESTIMATED_LENGTH = 72
SERVICE_WORDS = ("keystead", "oauth", "admin", "console")  # context-specific words (800-63B)

Estimator = Callable[..., dict[str, object]]


@cache
def _estimator() -> Estimator:
    # Imported on first use: loading its frequency lists takes a quarter of a second, which
    # commands and processes that never check a password should not pay.
    from zxcvbn import zxcvbn

    return cast(Estimator, zxcvbn)


def check_password(password: str, *, email: str = "", field: str = "password") -> list[Problem]:
    """Why ``password`` may not be used (empty when it may)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return [Problem(field, "password.length",
                        f"the password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")]
    lowered = password.lower()
    if len(set(password)) < 4:
        return [Problem(field, "password.repetitive",
                        "the password repeats too few characters; choose a less guessable one")]
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return [Problem(field, "password.contains.email",
                        "the password must not contain your e-mail name")]
    return _guessability(password, email=email, field=field)


def _guessability(password: str, *, email: str, field: str) -> list[Problem]:
    result = _estimator()(password[:ESTIMATED_LENGTH],
                          user_inputs=[email, *email.replace("@", ".").split("."),
                                       *SERVICE_WORDS])
    if cast(int, result["score"]) >= MIN_SCORE:
        return []
    sequence = cast(Sequence[dict[str, object]], result["sequence"])
    feedback = cast(dict[str, object], result["feedback"])
    # zxcvbn's feedback is fixed text (never the password): what is wrong, then how to fix it.
    warning = str(feedback.get("warning") or "It follows a pattern attackers try early.")
    advice = " ".join(cast(list[str], feedback.get("suggestions") or [])) or (
        "Add another word or two. Uncommon words are better.")
    breached = any(m.get("dictionary_name") == "passwords" for m in sequence)
    return [Problem(field, "password.common" if breached else "password.guessable",
                    f"the password is too easy to guess. {warning} {advice}")]


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
