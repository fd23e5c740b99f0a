"""/api/v2/governance/notices: the calling user's notices (a client's token sees none)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.notices import Notice
from keystead.web.api.common import call, entity_handler, listed, paging
from keystead.web.presenters import iso
from keystead.web.routing import route_at

BASE = "/api/v2/governance/notices"


def notice_json(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "kind": str(notice.kind), "subject": notice.subject,
            "body": notice.body, "clientId": notice.client_id,
            "dateCreated": iso(notice.created_at), "dateRead": iso(notice.read_at),
            "read": notice.read_at is not None, "selfUri": f"{BASE}/{notice.id}"}


async def list_notices(request: Request) -> Response:
    async with call(request, scope="governance:readonly") as c:
        page = paging(request)
        unread = request.query_params.get("unread", "false")
        if unread not in ("true", "false"):
            raise InvalidInputError.one("unread", "not.boolean", "unread must be true or false")
        found, total = await c.runtime.inbox(c.conn).list(c.caller, page,
                                                         unread_only=unread == "true")
    return listed(found, notice_json, total=total, page=page, uri=BASE)


mark_read = entity_handler("governance", lambda c: c.runtime.inbox(c.conn).mark_read,
                           notice_json)


routes = [
    route_at(BASE, get=list_notices),
    route_at(BASE + "/{id}/read", post=mark_read),
]
