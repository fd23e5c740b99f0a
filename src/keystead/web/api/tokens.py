"""/api/v2/tokens/me: inspect (GET/HEAD) or revoke (DELETE) the calling token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.organization import ORGANIZATION_ID
from keystead.web.auth import bearer_token, management_token
from keystead.web.errors import json_response
from keystead.web.presenters import iso
from keystead.web.runtime import Runtime


async def token_me(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    token = await management_token(request, runtime)
    if request.method == "HEAD":
        return Response(status_code=200)
    if request.method == "DELETE":
        await runtime.tokens.revoke(bearer_token(request), client_id=None)
        return Response(status_code=204)
    record = token.record
    async with runtime.transaction() as conn:
        callers = runtime.callers(conn)
        client_name = (await callers.of_client(record.client_id, "")).actor.name
        organization = {"id": ORGANIZATION_ID, "name": await callers.organization_name()}
    return json_response({
        # Genesys TokenInfo fields, then Keystead's extensions.
        "organization": organization, "homeOrganization": organization,
        "authorizedScope": sorted(token.scopes),
        "OAuthClient": {"id": record.client_id, "name": client_name,
                        "organization": organization},
        "clientId": record.client_id, "subjectId": record.subject_id,
        "scope": sorted(token.scopes), "dateCreated": iso(record.issued_at),
        "dateExpires": iso(record.expires_at),
        "roleDivisions": [{"roleId": r, "divisionId": d} for r, d in record.roles],
    })


routes = [Route("/api/v2/tokens/me", token_me, methods=["GET", "HEAD", "DELETE"])]
