"""Protocol routes: token, introspection, revocation, metadata, JWKS. Kept lean: the hot path."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import StoreUnavailableError
from keystead.protocol.errors import InvalidRequestError, OAuthError
from keystead.protocol.metadata import server_metadata
from keystead.web.errors import NO_STORE, json_response, oauth_error, unavailable
from keystead.web.runtime import Runtime

FORM = "application/x-www-form-urlencoded"


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def _form_body(request: Request) -> bytes:
    """Raises: InvalidRequestError unless the body is form-encoded (RFC 6749 §3.2)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != FORM:
        raise InvalidRequestError(f"the request body must be {FORM}")
    return await request.body()


async def token(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        body = await runtime.token_endpoint.handle(
            await _form_body(request), authorization=request.headers.get("authorization"),
            remote_ip=request.client.host if request.client else "")
    except OAuthError as exc:
        return oauth_error(exc)
    except StoreUnavailableError:
        return unavailable(request)
    return json_response(body, headers=NO_STORE)


async def introspect(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        body = await runtime.introspection.handle(
            await _form_body(request), authorization=request.headers.get("authorization"),
            remote_ip=request.client.host if request.client else "")
    except OAuthError as exc:
        return oauth_error(exc)
    except StoreUnavailableError:
        return unavailable(request)
    return json_response(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        await runtime.revocation.handle(
            await _form_body(request), authorization=request.headers.get("authorization"),
            remote_ip=request.client.host if request.client else "")
    except OAuthError as exc:
        return oauth_error(exc)
    except StoreUnavailableError:
        return unavailable(request)
    return Response(status_code=200, headers=NO_STORE)


async def metadata(request: Request) -> Response:
    runtime = _runtime(request)
    return json_response(server_metadata(runtime.tokens.issuer))


async def jwks(request: Request) -> Response:
    return json_response(_runtime(request).jwks, headers={"cache-control": "max-age=300"})


routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/introspect", introspect, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/jwks", jwks, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
]
