"""/api/v2/users/{userId}/export and /erase: a data subject's rights (domain/subject_rights.py).

Genesys has no such resources; they sit under the user they are about, as its other
sub-resources do. Export is a read (GET, ``users:readonly``); erasure changes everything that
names the user, so it is a POST with the ``users`` scope rather than a DELETE, which already
means the reversible-by-recreation delete.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.routing import route_at

BASE = "/api/v2/users/{userId}"


async def export_user(request: Request) -> Response:
    async with call(request, scope="users:readonly") as c:
        document = await c.runtime.subject_rights(c.conn).export(
            c.caller, request.path_params["userId"])
    response = json_response(document)
    response.headers["Cache-Control"] = "no-store"  # personal data: no cache keeps a copy
    return response


async def erase_user(request: Request) -> Response:
    async with call(request, scope="users") as c:
        erasure = await c.runtime.subject_rights(c.conn).erase(
            c.caller, request.path_params["userId"])
    return json_response({"pseudonym": erasure.pseudonym,
                          "auditEntriesPseudonymised": erasure.audit_entries})


routes = [
    route_at(BASE + "/export", get=export_user),
    route_at(BASE + "/erase", post=erase_user),
]
