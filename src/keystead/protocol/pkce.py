"""RFC 7636 PKCE, S256 only (RFC 9700 §2.1.1: ``plain`` is refused)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from keystead.protocol.errors import InvalidGrantError, InvalidRequestError

# §4.1: 43-128 unreserved characters; an S256 challenge is 43 base64url characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> str | None:
    """The challenge to bind to the code, or None when PKCE is not used and not required.

    Raises:
        InvalidRequestError: missing where required, a method other than S256, a malformed value.
    """
    if challenge is None:
        if method is not None:
            raise InvalidRequestError("code_challenge_method without code_challenge")
        if required:
            raise InvalidRequestError("code_challenge (PKCE, S256) is required")
        return None
    if method != "S256":  # §4.3: an absent method means plain, which we refuse too
        raise InvalidRequestError("code_challenge_method must be S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequestError("code_challenge must be the base64url SHA-256 of the verifier")
    return challenge


def verify(challenge: str | None, verifier: str | None) -> None:
    """§4.6: the verifier must hash to the challenge; none may be sent when none was bound.

    Raises:
        InvalidRequestError: a verifier for a code issued without a challenge (a PKCE
            downgrade, RFC 9700 §2.1.1; OAuth 2.1 §3.2.4 names the error).
        InvalidGrantError: a missing, malformed or wrong verifier.
    """
    if challenge is None:
        if verifier is not None:
            # OAuth 2.1 §4.1.3: "If there was no code_challenge in the authorization request
            # associated with the given code, the authorization server MUST ... return an
            # error" (invalid_request, §3.2.4).
            raise InvalidRequestError("the code was issued without code_challenge",
                                      detail="code_verifier sent for a code without PKCE")
        return
    if verifier is None or not _VERIFIER.fullmatch(verifier):
        raise InvalidGrantError("code_verifier is missing or malformed")
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(computed, challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge")
