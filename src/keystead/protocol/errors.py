"""RFC 6749 §5.2 / RFC 6750 §3.1 / RFC 7009 / RFC 8707 errors as one family.

    OAuthError                      (server_error, 500)
     ├── InvalidRequestError          400
     ├── InvalidClientError           401 + WWW-Authenticate
     ├── InvalidGrantError            400
     ├── UnauthorizedClientError      400
     ├── UnsupportedGrantTypeError    400
     ├── InvalidScopeError            400
     ├── InvalidTargetError           400 (RFC 8707 §2)
     ├── UnsupportedTokenTypeError    400 (RFC 7009 §2.2.1)
     ├── UnsupportedResponseTypeError 400 (RFC 6749 §4.1.2.1, redirected)
     ├── AccessDeniedError            400 (redirected)
     ├── LoginRequiredError           400 (OIDC prompt=none, redirected)
     ├── ConsentRequiredError         400 (OIDC prompt=none, redirected)
     ├── InvalidTokenError            401 (RFC 6750)
     ├── InsufficientScopeError       403 (RFC 6750)
     ├── TemporarilyUnavailableError  503 + Retry-After
     └── TooManyFailuresError         429 + Retry-After (temporarily_unavailable: retry later)
"""

from __future__ import annotations

from typing import ClassVar

# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
_ALLOWED = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def require_error_charset(description: str | None) -> str | None:
    if description is not None and not set(description) <= _ALLOWED:
        raise ValueError("error_description must be printable ASCII without quote or backslash")
    return description


class OAuthError(Exception):
    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 500

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(detail or description or self.error)
        self.description = require_error_charset(description)  # sent to the client
        self.detail = detail  # logged only


class InvalidRequestError(OAuthError):
    error = "invalid_request"
    status_code = 400


class InvalidClientError(OAuthError):
    error = "invalid_client"
    status_code = 401


class InvalidGrantError(OAuthError):
    error = "invalid_grant"
    status_code = 400


class UnauthorizedClientError(OAuthError):
    error = "unauthorized_client"
    status_code = 400


class UnsupportedGrantTypeError(OAuthError):
    error = "unsupported_grant_type"
    status_code = 400


class InvalidScopeError(OAuthError):
    error = "invalid_scope"
    status_code = 400


class InvalidTargetError(OAuthError):
    error = "invalid_target"
    status_code = 400


class UnsupportedTokenTypeError(OAuthError):
    error = "unsupported_token_type"
    status_code = 400


class UnsupportedResponseTypeError(OAuthError):
    error = "unsupported_response_type"
    status_code = 400


class AccessDeniedError(OAuthError):
    error = "access_denied"
    status_code = 400


class LoginRequiredError(OAuthError):
    error = "login_required"
    status_code = 400


class ConsentRequiredError(OAuthError):
    error = "consent_required"
    status_code = 400


class InvalidTokenError(OAuthError):
    error = "invalid_token"
    status_code = 401


class InsufficientScopeError(OAuthError):
    error = "insufficient_scope"
    status_code = 403


class TemporarilyUnavailableError(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


class TooManyFailuresError(OAuthError):
    """Client authentication is throttled after too many failures (see protocol/throttle.py).

    RFC 6749 has no code for it; ``temporarily_unavailable`` tells a client to retry later rather
    than discard its credentials, and HTTP 429 with ``Retry-After`` says when (RFC 6585 §4).
    """

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many failed authentications; retry later",
                         detail=f"throttled for {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds
