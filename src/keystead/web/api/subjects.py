"""/api/v2/authorization/subjects: the roles a user holds, by division (Genesys shapes).

``/me`` answers the caller's own grants and ``/api/v2/users/{subjectId}/roles`` a user's roles
with the permissions they give (``UserAuthorization``). Grants go through UserManagement,
which holds the no-escalation rule: a caller gives or takes away only a role it holds in that
division. Only users are subjects here; clients get their roles through the client API.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.clients import RoleDivision
from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.domain.subjects import Subject
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.presenters import subject_json
from keystead.web.routing import route_at

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


def _subject_json(subject: Subject) -> dict[str, Any]:
    return subject_json(subject.id, subject.name, subject.grants,
                        role_names=dict(subject.role_names),
                        division_names=dict(subject.division_names))


async def get_subject(request: Request) -> Response:
    async with call(request, scope="authorization:readonly") as c:
        subject = await c.runtime.subjects(c.conn).of_user(c.caller,
                                                           request.path_params["subjectId"])
    return json_response(_subject_json(subject))


async def get_subject_me(request: Request) -> Response:
    """The caller's own grants: a user's token its user's, a client's token the client's
    roles (Genesys answers the same for both); no permission needed to see oneself."""
    async with call(request, scope="authorization:readonly") as c:
        subject = await c.runtime.subjects(c.conn).of_caller(c.caller)
    return json_response(_subject_json(subject))


async def get_user_roles(request: Request) -> Response:
    """``UserAuthorization``: the roles a user holds (anywhere) and the permissions they give,
    also as Genesys permission policies (one per domain and entity)."""
    async with call(request, scope="authorization:readonly") as c:
        held = await c.runtime.subjects(c.conn).roles_held(c.caller,
                                                           request.path_params["subjectId"])
    policies: dict[tuple[str, str], list[str]] = {}
    for permission in held.permissions:
        domain, entity, action = [*permission.split(":"), "*", "*"][:3]
        policies.setdefault((domain, entity), []).append(action)
    return json_response({
        "roles": [{"id": r, "name": held.role_names.get(r, ""),
                   "selfUri": f"/api/v2/authorization/roles/{r}"} for r in held.role_ids],
        "unusedRoles": [], "permissions": list(held.permissions),
        "permissionPolicies": [{"domain": d, "entityName": e, "actionSet": actions}
                               for (d, e), actions in policies.items()]})


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
    route_at(BASE + "/me", get=get_subject_me),  # before /{subjectId}
    route_at(BASE + "/{subjectId}", get=get_subject),
    route_at("/api/v2/users/{subjectId}/roles", get=get_user_roles),
    route_at(GRANT, post=add_grant, delete=delete_grant),
]
