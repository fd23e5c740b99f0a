"""The API Explorer: every management API operation by tag, with the scope a token needs and
the permission its holder needs, and a form per operation that sends the call with the
signed-in admin's own session (``web/api/console_calls.py``: CSRF token in a header,
same-origin only). The page is built from the same table as /api/v2/docs/openapi.json.

Any signed-in user may open it: what a call may do is decided by the API, on the user's
permissions, exactly as for the console's own pages.
"""

from __future__ import annotations

import re
from itertools import groupby

from starlette.responses import Response
from starlette.routing import Route

from keystead.web.api.console_calls import HEADER
from keystead.web.api.docs import PATH as DOCUMENT
from keystead.web.console.pages import Page, route
from keystead.web.openapi.operations import OPERATIONS, Operation

PATH = "/admin/api-explorer"
_PARAM = re.compile(r"{(\w+)}")


def _view(op: Operation) -> dict[str, object]:
    return {"op": op, "id": op.operation_id, "path_params": _PARAM.findall(op.path),
            "example": "{}" if op.body is not None else None}


async def explorer(ctx: Page) -> Response:
    ordered = sorted(OPERATIONS, key=lambda op: op.tag)
    tags = [(tag, [_view(op) for op in ops])
            for tag, ops in groupby(ordered, key=lambda op: op.tag)]
    return ctx.render("api_explorer.html", tags=tags, header=HEADER, document=DOCUMENT)


routes: list[Route] = [route(PATH, explorer)]
