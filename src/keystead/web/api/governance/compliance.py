"""/api/v2/governance/compliance: the compliance report, judged now (JSON, or ``?format=csv``).

Needs the ``governance:readonly`` scope (or ``governance``) and ``governance:compliance:view``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import InvalidInputError
from keystead.web.api.common import call
from keystead.web.compliance_report import attachment, report_csv, report_json
from keystead.web.errors import json_response

BASE = "/api/v2/governance/compliance"


async def compliance_report(request: Request) -> Response:
    fmt = request.query_params.get("format", "json")
    async with call(request, scope="governance:readonly") as c:
        if fmt not in ("json", "csv"):
            raise InvalidInputError.one("format", "invalid.value", "format is json or csv")
        report = await c.runtime.compliance(c.conn).report(c.caller)
    if fmt == "csv":
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers=attachment(report, "csv"))
    return json_response(report_json(report))


routes = [Route(BASE, compliance_report, methods=["GET"])]
