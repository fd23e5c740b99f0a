"""/api/v2/audits/query/realtime: the audit log, queried in the Genesys shape."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audit import Result
from keystead.domain.audit_trail import AuditQuery
from keystead.domain.errors import InvalidInputError
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.presenters import audit_json, listing
from keystead.web.schemas import AuditQueryRequest, parse_body

FILTERS = {"entityId": "entity_id", "entityType": "entity_type", "action": "action",
           "userId": "actor_id", "clientId": "actor_id", "actorId": "actor_id",
           "status": "result", "requestId": "request_id"}
# Genesys spells filter properties in PascalCase ("EntityId", "ClientId"); match any case.
_FILTERS_BY_LOWER = {name.lower(): column for name, column in FILTERS.items()}


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_interval(interval: str) -> tuple[datetime, datetime]:
    """An ISO-8601 ``start/end`` interval, both aware UTC.

    Raises:
        InvalidInputError: not two instants, or the end not after the start.
    """
    start_text, sep, end_text = interval.partition("/")
    try:
        start, end = _instant(start_text), _instant(end_text)
    except (ValueError, OverflowError) as exc:  # OverflowError: moved past year 1 or 9999
        raise InvalidInputError.one("interval", "invalid.interval",
                                    "interval must be ISO-8601 start/end, e.g. "
                                    "2026-11-01T00:00:00Z/2026-11-30T00:00:00Z") from exc
    if not sep or end <= start:
        raise InvalidInputError.one("interval", "invalid.interval",
                                    "interval must be start/end with end after start")
    return start, end


def _query(body: AuditQueryRequest) -> AuditQuery:
    start, end = parse_interval(body.interval)
    values: dict[str, str] = {}
    for index, flt in enumerate(body.filters or []):
        if flt.property.lower() not in _FILTERS_BY_LOWER:
            raise InvalidInputError.one(f"filters[{index}].property", "invalid.value",
                                        f"filter by one of {', '.join(sorted(FILTERS))}")
        values[_FILTERS_BY_LOWER[flt.property.lower()]] = flt.value
    result = None
    if "result" in values:
        try:
            result = Result(values.pop("result").lower())
        except ValueError as exc:
            raise InvalidInputError.one("filters", "invalid.value",
                                        "status is SUCCESS or FAILURE") from exc
    ascending = any(s.get("name") == "Timestamp" and s.get("sortOrder", "").lower() == "ascending"
                    for s in body.sort or [])
    return AuditQuery(start=start, end=end, result=result, page_number=body.pageNumber,
                      page_size=body.pageSize, newest_first=not ascending, **values)


async def query_realtime(request: Request) -> Response:
    async with call(request, scope="audits:readonly") as c:
        trail = c.runtime.audit_trail(c.conn)
        trail.check(c.caller)  # refused before the body is read
        body = parse_body(AuditQueryRequest, await request.body())
        query = _query(body)
        found, total = await trail.query(c.caller, query)
    page = listing(found, audit_json, total=total, page_number=query.page_number,
                   page_size=query.page_size, uri="/api/v2/audits/query/realtime")
    return json_response({key: page[key] for key in
                          ("entities", "pageSize", "pageNumber", "total", "pageCount")})


routes = [Route("/api/v2/audits/query/realtime", query_realtime, methods=["POST"])]
