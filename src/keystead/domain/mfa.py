"""TOTP (RFC 6238, pyotp) enrolment and checks, and recovery codes.

The console shows an enrolment's URI as a QR code (``web/console/qr.py``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp

ISSUER = "Keystead"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A TOTP secret offered to a user, before a first code proves their app holds it."""

    secret: str
    uri: str  # the otpauth URI an authenticator app reads


def new_enrolment(email: str, *, secret: str | None = None) -> Enrolment:
    """An enrolment for ``email``: a fresh secret, or ``secret`` shown again after a wrong code."""
    secret = secret or pyotp.random_base32()
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def accepted_step(secret: str, code: str, *, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (one step of drift allowed either way), or None.

    A step at or before ``last_step`` is refused: a code that was seen once is never accepted
    again (RFC 6238 §5.2).
    """
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten single-use codes, 50 bits each, shaped ``xxxxx-xxxxx`` for reading aloud."""
    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"
    return [one() for _ in range(RECOVERY_CODES)]


def normalise_recovery_code(code: str) -> str:
    cleaned = "".join(c for c in code.lower() if c.isalnum())
    return f"{cleaned[:5]}-{cleaned[5:]}" if len(cleaned) == 10 else ""
