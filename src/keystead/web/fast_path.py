"""The outermost ASGI layer: every request's id, access line and metrics, and the token hot path.

Every HTTP request gets an id (the caller's ``ININ-Correlation-Id`` if well formed, else a new
one), answered in that header on every response, carried in a context variable to the log lines
and audit entries it causes, and one access line at INFO when it is answered.

POST /oauth/token, /oauth/introspect and /oauth/revoke skip Starlette's routing and its Request
and Response objects, about 40 µs of a ~250 µs budget per token (bench/README.md); everything
else goes on to the Starlette app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.types import Message, Receive, Scope, Send

from keystead.domain.errors import StoreUnavailableError
from keystead.log_setup import log_access, shown_path
from keystead.protocol.errors import (
    InvalidClientError,
    InvalidRequestError,
    OAuthError,
    TooManyFailuresError,
)
from keystead.request_context import (
    HEADER_KEY,
    RequestContext,
    accepted_request_id,
    begin,
    current,
    end,
)
from keystead.web.errors import oauth_error, oauth_unavailable
from keystead.web.metrics import UNMATCHED, Metrics, route_labels
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead.web")
access_log = logging.getLogger("keystead.access")
FORM = b"application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024
NO_STORE_JSON = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                 (b"pragma", b"no-cache")]


class Endpoint(Protocol):
    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, Any] | None: ...


class ProtocolFastPath:
    """ASGI middleware answering the three form-POST protocol endpoints itself, and giving
    every HTTP request its id, access line and metrics."""

    def __init__(self, app: Starlette, metrics: Metrics) -> None:
        self.app = app
        self.state: State = app.state
        self.metrics = metrics
        self.labels = route_labels(app.routes)
        self.endpoints: dict[str, Callable[[Runtime], Endpoint]] = {
            "/oauth/token": lambda runtime: runtime.token_endpoint,
            "/oauth/introspect": lambda runtime: runtime.introspection,
            "/oauth/revoke": lambda runtime: runtime.revocation,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        authorization = content_type = incoming_id = None
        for name, value in scope["headers"]:  # one pass finds all three
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
            elif name == HEADER_KEY:
                incoming_id = value
        context, token = begin(accepted_request_id(incoming_id))
        id_header = (HEADER_KEY, context.request_id.encode("ascii"))
        status = 500  # what the server sends if the app fails before starting a response
        try:
            pick = self.endpoints.get(scope["path"])
            if pick is None:
                try:
                    status = await self._pass_on(scope, receive, send, context, id_header)
                finally:  # labelled with the route that served it, never the raw path
                    self.metrics.answered(self.labels.get(scope.get("endpoint"), UNMATCHED),
                                          status, time.perf_counter() - started)
            else:
                if scope["method"] != "POST":
                    status = 405
                    await _send(send, 405, b"", [(b"allow", b"POST"), id_header])
                else:
                    status = await self._answer(pick, scope, receive, send, id_header,
                                                authorization, content_type)
                self.metrics.fast_answered(scope["path"], status,
                                           time.perf_counter() - started)
            if access_log.isEnabledFor(logging.INFO):  # KEYSTEAD_LOG_LEVEL=WARNING: skipped
                _log_access(scope, status, started, context)
        finally:
            end(token)

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send,
                       context: RequestContext, id_header: tuple[bytes, bytes]) -> int:
        """Run the Starlette app with the id header added to its answer; return the status."""
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette re-raises what it answered 500 for; web.errors.internal_error has
            # logged it with its traceback. Anything else is logged here, once.
            if not context.error_logged:
                log.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            if not status:
                raise
        return status

    async def _answer(self, pick: Callable[[Runtime], Endpoint], scope: Scope, receive: Receive,
                      send: Send, id_header: tuple[bytes, bytes], authorization: bytes | None,
                      content_type: bytes | None) -> int:
        try:
            body = await self._serve(pick(self.state.runtime), receive, authorization,
                                     content_type, scope.get("client"))
        except OAuthError as exc:
            if isinstance(exc, InvalidClientError):
                self.metrics.authentication_failed(exc)
            elif isinstance(exc, TooManyFailuresError):
                self.metrics.throttled_at(scope["path"])
            response = oauth_error(exc)
        except StoreUnavailableError:
            log.warning("store unreachable while serving POST %s", scope["path"])
            self.metrics.unreachable("protocol")
            response = oauth_unavailable()
        except Exception:
            log.exception("unexpected error serving POST %s", scope["path"])
            self.metrics.unexpected("protocol")
            response = oauth_error(OAuthError("internal error"))
        else:
            # orjson: 0.1 µs for these small bodies where json.dumps takes 3.5 (bench/README.md).
            payload = b"" if body is None else orjson.dumps(body)
            await _send(send, 200, payload,
                        [*(NO_STORE_JSON if body is not None else NO_STORE_JSON[1:]), id_header,
                         *_extra_headers()])
            return 200
        response.raw_headers.append(id_header)
        await response(scope, receive, send)
        return response.status_code

    async def _serve(self, endpoint: Endpoint, receive: Receive, authorization: bytes | None,
                     content_type: bytes | None,
                     client: tuple[str, int] | None) -> dict[str, Any] | None:
        # RFC 6749 §3.2: the endpoints take application/x-www-form-urlencoded.
        if content_type is None or content_type.split(b";", 1)[0].strip().lower() != FORM:
            raise InvalidRequestError("the request body must be application/x-www-form-urlencoded")
        body = await _read_body(receive)
        return await endpoint.handle(
            body, authorization=None if authorization is None else authorization.decode("latin-1"),
            remote_ip=client[0] if client else "")


def _log_access(scope: Scope, status: int, started: float, context: RequestContext) -> None:
    """The access line: method, path and route (never the query string), status, duration,
    client id when known. No header and no body: they can hold credentials."""
    fields: dict[str, Any] = {
        "method": scope["method"], "path": shown_path(scope["path"]), "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3)}
    route = getattr(scope.get("route"), "path", None)
    if route is not None:
        fields["route"] = scope.get("root_path", "") + route
    if context.client_id:
        fields["client_id"] = context.client_id
    log_access(f"{scope['method']} {fields['path']} {status}", fields)


def _extra_headers() -> list[tuple[bytes, bytes]]:
    context = current()
    return context.extra_headers if context is not None else []


async def _read_body(receive: Receive) -> bytes:
    """Raises: InvalidRequestError for a body over 64 KiB."""
    chunks = []
    size = 0
    while True:
        message: Message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise InvalidRequestError("the request body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes,
                headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
