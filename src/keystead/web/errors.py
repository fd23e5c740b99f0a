"""The one place errors become HTTP: RFC 6749 bodies on /oauth, Genesys ErrorBody on /api/v2."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from keystead.domain.errors import DomainError, ForbiddenError, InvalidInputError
from keystead.log_setup import shown_path
from keystead.protocol.errors import (
    InsufficientScopeError,
    InvalidClientError,
    InvalidTokenError,
    OAuthError,
    TemporarilyUnavailableError,
    TooManyFailuresError,
)
from keystead.request_context import current, current_request_id

log = logging.getLogger("keystead.web")
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
RETRY_AFTER_SECONDS = "5"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status,
                    headers, media_type="application/json")


def oauth_error(exc: OAuthError, *, basic_challenge: bool = True) -> Response:
    """RFC 6749 §5.2 error response."""
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClientError) and basic_challenge:
        headers["www-authenticate"] = 'Basic realm="keystead"'
    if isinstance(exc, TemporarilyUnavailableError):
        headers["retry-after"] = RETRY_AFTER_SECONDS
    elif isinstance(exc, TooManyFailuresError):
        headers["retry-after"] = str(exc.retry_after_seconds)
    if isinstance(exc, InvalidClientError):
        # A failed client authentication: worth an operator's eye (a leaked id, a stale secret).
        log.warning("client authentication failed: %s", exc.detail or exc.description,
                    extra={"fields": {"error": exc.error}})
    elif isinstance(exc, TooManyFailuresError):
        log.warning("client authentication throttled", extra={"fields": {
            "retry_after": exc.retry_after_seconds}})
    elif exc.detail:
        log.info("oauth error %s: %s", exc.error, exc.detail)
    return json_response(body, exc.status_code, headers)


def error_body(status: int, code: str, message: str, *,
               details: list[dict[str, str]] | None = None,
               headers: dict[str, str] | None = None) -> Response:
    """The Genesys ``ErrorBody`` shape."""
    body = {
        "message": message, "code": code, "status": status, "messageWithParams": message,
        # Genesys answers the request's correlation id here: one id to quote to support.
        "messageParams": {}, "contextId": current_request_id() or str(uuid.uuid4()),
        "details": details or [], "errors": [],
    }
    return json_response(body, status, headers)


def domain_error(exc: DomainError) -> Response:
    details = []
    headers = None
    if isinstance(exc, InvalidInputError):
        details = [{"errorCode": p.code, "fieldName": p.field} for p in exc.problems]
    if isinstance(exc, ForbiddenError):
        # RFC 6750 §3.1: the token is fine but not enough; say what is missing.
        reason = "".join(ch if ch in _HEADER_SAFE else "?" for ch in exc.message)
        headers = {"www-authenticate":
                   f'Bearer realm="keystead", error="insufficient_scope", '
                   f'error_description="{reason}"'}
    return error_body(exc.status, exc.code, exc.message, details=details, headers=headers)


_HEADER_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def bearer_error(exc: InvalidTokenError | InsufficientScopeError) -> Response:
    """RFC 6750 §3: 401 invalid_token / 403 insufficient_scope, with the reason in both places."""
    challenge = f'Bearer realm="keystead", error="{exc.error}"'
    if exc.description:
        challenge += f', error_description="{exc.description}"'
    code = "bad.credentials" if isinstance(exc, InvalidTokenError) else "missing.permissions"
    return error_body(exc.status_code, code, exc.description or exc.error,
                      headers={"www-authenticate": challenge})


def oauth_unavailable() -> Response:
    """RFC 6749 §5.2 temporarily_unavailable: clients retry instead of discarding credentials."""
    return oauth_error(TemporarilyUnavailableError("the service is temporarily unavailable"))


def unavailable(request: Request) -> Response:
    log.warning("store unreachable while serving %s %s", request.method,
                shown_path(request.url.path))
    if request.url.path.startswith("/oauth/"):
        return oauth_unavailable()
    return error_body(503, "service.unavailable", "the store is temporarily unavailable; retry",
                      headers={"retry-after": RETRY_AFTER_SECONDS})


def internal_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error serving %s %s", request.method, shown_path(request.url.path),
              exc_info=(type(exc), exc, exc.__traceback__))
    context = current()
    if context is not None:
        context.error_logged = True
    if request.url.path.startswith("/oauth/"):
        return oauth_error(OAuthError("internal error"))
    return error_body(500, "internal.server.error", "internal error; it has been logged")


def http_error(request: Request, exc: HTTPException) -> Response:
    """Routing's 404 and 405: the Genesys ``ErrorBody`` under /api/v2 (SDKs parse it), plain
    text elsewhere, as Starlette answers."""
    path = request.url.path
    if path == "/api/v2" or path.startswith("/api/v2/"):
        code = {404: "not.found", 405: "method.not.allowed"}.get(exc.status_code, "bad.request")
        message = {404: f"no such API path: {request.method} {path[:200]}",
                   405: f"{request.method} is not allowed on {path[:200]}"}.get(
            exc.status_code, exc.detail)
        return error_body(exc.status_code, code, message, headers=dict(exc.headers or {}))
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
