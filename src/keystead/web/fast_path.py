"""The token hot path as bare ASGI: POST /oauth/token, /oauth/introspect and /oauth/revoke.

These three skip Starlette's routing and its Request and Response objects, about 40 µs of a
~250 µs budget per token (bench/README.md); everything else goes on to the Starlette app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.types import Message, Receive, Scope, Send

from keystead.domain.errors import StoreUnavailableError
from keystead.protocol.errors import (
    InvalidClientError,
    InvalidRequestError,
    OAuthError,
    TooManyFailuresError,
)
from keystead.web.errors import oauth_error, oauth_unavailable
from keystead.web.metrics import UNMATCHED, Metrics, route_labels
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead.web")
FORM = b"application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024
NO_STORE_JSON = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                 (b"pragma", b"no-cache")]


class Endpoint(Protocol):
    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, Any] | None: ...


class ProtocolFastPath:
    """ASGI middleware answering the three form-POST protocol endpoints itself, and timing every
    HTTP request (metrics)."""

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
        pick = self.endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if pick is None:
            await (self._timed(scope, receive, send) if scope["type"] == "http"
                   else self.app(scope, receive, send))
            return
        started = perf_counter()
        status = await self._answer(pick, scope, receive, send)
        self.metrics.fast_answered(scope["path"], status, perf_counter() - started)

    async def _answer(self, pick: Callable[[Runtime], Endpoint], scope: Scope, receive: Receive,
                      send: Send) -> int:
        """Answer the request; return the status sent."""
        if scope["method"] != "POST":
            await _send(send, 405, b"", [(b"allow", b"POST")])
            return 405
        try:
            body = await self._serve(pick(self.state.runtime), scope, receive)
        except OAuthError as exc:
            if isinstance(exc, InvalidClientError):
                self.metrics.authentication_failed(exc)
            elif isinstance(exc, TooManyFailuresError):
                self.metrics.throttled_at(scope["path"])
            await oauth_error(exc)(scope, receive, send)
            return exc.status_code
        except StoreUnavailableError:
            log.warning("store unreachable while serving POST %s", scope["path"])
            self.metrics.unreachable("protocol")
            await oauth_unavailable()(scope, receive, send)
            return 503
        except Exception:
            log.exception("unexpected error serving POST %s", scope["path"])
            self.metrics.unexpected("protocol")
            await oauth_error(OAuthError("internal error"))(scope, receive, send)
            return 500
        # orjson: 0.1 µs for these small bodies where json.dumps takes 3.5 (bench/README.md).
        payload = b"" if body is None else orjson.dumps(body)
        await _send(send, 200, payload, NO_STORE_JSON if body is not None else NO_STORE_JSON[1:])
        return 200

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on to Starlette, timed and labelled with the route that served it."""
        started = perf_counter()
        status = 500  # what the server sends if the app fails before starting a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            endpoint = self.labels.get(scope.get("endpoint"), UNMATCHED)
            self.metrics.answered(endpoint, status, perf_counter() - started)

    async def _serve(self, endpoint: Endpoint, scope: Scope,
                     receive: Receive) -> dict[str, Any] | None:
        authorization = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value
        # RFC 6749 §3.2: the endpoints take application/x-www-form-urlencoded.
        if content_type is None or content_type.split(b";", 1)[0].strip().lower() != FORM:
            raise InvalidRequestError("the request body must be application/x-www-form-urlencoded")
        body = await _read_body(receive)
        client = scope.get("client")
        return await endpoint.handle(body, authorization=authorization,
                                     remote_ip=client[0] if client else "")


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
