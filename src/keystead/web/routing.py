"""One Starlette route a path, its methods dispatched to their handlers.

Starlette answers a request whose method no route takes with the Allow header of the first
route whose path matched; with a route per method, a 405 would name only that route's methods.
RFC 9110 §15.5.6: the origin server "MUST generate an Allow header field in a 405 response
containing a list of the target resource's currently supported methods". So the API and the
console declare each path once (tests/web/test_routing.py checks the whole app).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


def route_at(path: str, *, get: Endpoint | None = None, post: Endpoint | None = None,
             put: Endpoint | None = None, patch: Endpoint | None = None,
             delete: Endpoint | None = None) -> Route:
    """``path``'s route, each method to its handler (HEAD answered as GET).

    Raises:
        TypeError: no handler is given (the route would take every method and answer none).
    """
    handlers = {method: handler for method, handler in (
        ("GET", get), ("POST", post), ("PUT", put), ("PATCH", patch), ("DELETE", delete))
        if handler is not None}
    if not handlers:
        raise TypeError(f"route_at({path!r}) names no handler")

    async def by_method(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)
    return Route(path, by_method, methods=list(handlers))
