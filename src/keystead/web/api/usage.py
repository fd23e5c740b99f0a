"""/api/v2/oauth/clients/{id}/usage: a client's token and failure counts (Genesys style: start
an execution, then read its results; Keystead's results are ready at once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.tokens import USAGE_DAYS
from keystead.web.api.audits import parse_interval
from keystead.web.api.common import call
from keystead.web.errors import json_response
from keystead.web.routing import route_at
from keystead.web.schemas import UsageQueryRequest, parse_body

BASE = "/api/v2/oauth/clients"
_DAY = "%Y%m%d"


def _days(request: Request) -> int:
    raw = request.query_params.get("days", "7")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= USAGE_DAYS:
        raise InvalidInputError.one("days", "out.of.range",
                                    f"days must be a whole number from 1 to {USAGE_DAYS}")
    return int(raw)


def _execution(client_id: str, execution: str) -> dict[str, str]:
    return {"executionId": execution,
            "resultsUri": f"{BASE}/{client_id}/usage/query/results/{execution}"}


async def usage_summary(request: Request) -> Response:
    """The last ``days`` UTC days, today included."""
    async with call(request, scope="oauth:readonly") as c:
        days = _days(request)
        client = await c.runtime.management(c.conn).find(c.caller, request.path_params["id"])
    return json_response(_execution(client.id, f"summary-{days}"))


async def usage_query(request: Request) -> Response:
    """The UTC days ``interval`` touches (an end at midnight excludes that day), kept ones
    only: at most the last USAGE_DAYS days."""
    async with call(request, scope="oauth:readonly") as c:
        body = parse_body(UsageQueryRequest, await request.body())
        start, end = parse_interval(body.interval)
        client = await c.runtime.management(c.conn).find(c.caller, request.path_params["id"])
        first, last = start.date(), (end - timedelta(microseconds=1)).date()
        today = c.runtime.clock().astimezone(UTC).date()
        if first > today or last < today - timedelta(days=USAGE_DAYS - 1):
            raise InvalidInputError.one("interval", "out.of.range",
                                        f"interval must overlap the last {USAGE_DAYS} days")
    execution = f"query-{first.strftime(_DAY)}-{last.strftime(_DAY)}"
    return json_response(_execution(client.id, execution), 202)


def _span(execution: str, today: date) -> tuple[date, date]:
    """The first and last UTC day an execution id names.

    Raises:
        InvalidInputError: not an id this server hands out.
    """
    kind, _, rest = execution.partition("-")
    try:
        if kind == "summary" and rest.isascii() and rest.isdigit() and (
                1 <= int(rest) <= USAGE_DAYS):
            return today - timedelta(days=int(rest) - 1), today
        if kind == "query":
            first_text, _, last_text = rest.partition("-")
            first = datetime.strptime(first_text, _DAY).replace(tzinfo=UTC).date()
            last = datetime.strptime(last_text, _DAY).replace(tzinfo=UTC).date()
            if first <= last:
                return first, last
    except ValueError:
        pass
    raise InvalidInputError.one("executionId", "invalid.value", "unknown execution id")


async def usage_results(request: Request) -> Response:
    # This worker's counts are flushed first (others' lag at most a second), and only for a
    # caller with a valid token: a stranger's request writes nothing.
    async with call(request, scope="oauth:readonly",
                    before_transaction=request.app.state.runtime.hot.flush) as c:
        usage_of = c.runtime.client_usage(c.conn)
        first_day, last_day = _span(request.path_params["execution"], usage_of.today())
        client, usage = await usage_of.totals(c.caller, request.path_params["id"],
                                              first_day=first_day, last_day=last_day)
    issued, failures = usage.issued, usage.failures
    # Genesys's ApiUsageRow counts every 4xx under status400; status401 is Keystead's extension.
    return json_response({"queryStatus": "Complete", "results": [
        {"clientId": client.id, "clientName": client.settings.name,
         "organizationId": None, "userId": None, "templateUri": "/oauth/token",
         "httpMethod": "POST", "status200": issued, "status400": failures, "status401": failures,
         "requests": issued + failures, "date": None}]})


routes = [
    route_at(BASE + "/{id}/usage/summary", get=usage_summary),
    route_at(BASE + "/{id}/usage/query", post=usage_query),
    route_at(BASE + "/{id}/usage/query/results/{execution}", get=usage_results),
]
