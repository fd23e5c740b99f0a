"""Protocol routes served by Starlette: metadata and JWKS (the form POSTs are in fast_path.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.protocol.metadata import server_metadata
from keystead.web.errors import json_response
from keystead.web.runtime import Runtime


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def metadata(request: Request) -> Response:
    runtime = _runtime(request)
    return json_response(server_metadata(runtime.tokens.issuer))


async def jwks(request: Request) -> Response:
    return json_response(_runtime(request).jwks, headers={"cache-control": "max-age=300"})


routes = [
    Route("/oauth/jwks", jwks, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
]
