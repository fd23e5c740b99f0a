"""/api/v2/authorization/subjects: the roles a user holds, by division (Genesys shapes).

Grants go through UserManagement, which holds the no-escalation rule: a caller gives or takes
away only a role it holds in that division. Only users are subjects here; clients get their
roles through the client API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.clients import RoleDivision
from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.store.catalog import SqlCatalog
from keystead.store.divisions import SqlDivisionStore
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.presenters import subject_json

BASE = "/api/v2/authorization/subjects"
GRANT = BASE + "/{subjectId}/divisions/{divisionId}/roles/{roleId}"
USER_SUBJECT = "PC_USER"


def _grant(request: Request) -> tuple[str, RoleDivision]:
    """The subject and grant a request names; Genesys's ``subjectType`` must say a user.

    Raises:
        InvalidInputError: another subject type (groups and clients are not subjects here).
    """
    kind = request.query_params.get("subjectType", USER_SUBJECT)
    if kind != USER_SUBJECT:
        raise InvalidInputError.one(
            "subjectType", "invalid.value",
            f"subjectType must be {USER_SUBJECT}; give a client roles through the client API")
    p = request.path_params
    return p["subjectId"], RoleDivision(p["roleId"], p["divisionId"])


async def get_subject(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        users = c.runtime.users(c.conn)
        held = await users.grants_of(c.caller, request.path_params["subjectId"])
        user = await users.find(c.caller, request.path_params["subjectId"])
        role_names = await SqlCatalog(c.conn).existing_roles(sorted({g.role_id for g in held}))
        division_names = {d.id: d.name for d in await SqlDivisionStore(c.conn).list()}
    return json_response(subject_json(user, held, role_names=role_names,
                                      division_names=division_names))


async def add_grant(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_GRANT_ADD)  # before reading the request's input
        subject_id, grant = _grant(request)
        await c.runtime.users(c.conn).grant(c.caller, subject_id, grant)
    return Response(status_code=204)


async def delete_grant(request: Request) -> Response:
    async with call(request, scope="authorization") as c:
        c.caller.require(Permission.AUTHORIZATION_GRANT_DELETE)  # before reading the input
        subject_id, grant = _grant(request)
        await c.runtime.users(c.conn).revoke(c.caller, subject_id, grant)
    return Response(status_code=204)


routes = [
    Route(BASE + "/{subjectId}", get_subject, methods=["GET"]),
    Route(GRANT, add_grant, methods=["POST"]),
    Route(GRANT, delete_grant, methods=["DELETE"]),
]
