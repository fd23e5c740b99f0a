"""The audit log in the console: filter, page, and export as CSV or JSON.

Every page and export needs ``audits:audit:view``. Filters travel in the query string, so a
filtered view can be bookmarked and its export links carry the same filters. Times are UTC.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keystead.domain.audit import Result
from keystead.domain.audit_trail import AuditQuery, AuditTrail, StoredEvent
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.principal import Caller
from keystead.web.console.audit_details import readable
from keystead.web.console.audit_names import Names
from keystead.web.console.pages import Page, route
from keystead.web.runtime import Runtime

PAGE_SIZE = 50
EXPORT_BATCH = 1_000
MAX_PAGE = 1_000_000  # beyond this an OFFSET means nothing to a person (and may overflow)
FIELDS = ("actor", "action", "client", "request", "result", "from", "to")
# The audit_events column widths.
LIMITS = {"actor": 320, "action": 64, "client": 64, "request": 64}
RESULTS = {"": None, "any": None, "success": Result.success, "failure": Result.failure}
# What a datetime-local input sends (seconds optional), a bare date, or either with a Z.
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,6})?)?)?Z?",
                      re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EXPORT_COLUMNS = ("seq", "id", "timestamp", "actorKind", "actorId", "actorName", "action",
                  "entityType", "entityId", "entityName", "result", "remoteIp", "requestId",
                  "actorDivisions", "details")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as typed (for the form and links), as a query, and what is wrong with them."""

    values: dict[str, str]
    query: AuditQuery
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def read_filters(params: Mapping[str, str], *, page_number: int = 1) -> Filters:
    """Parse the filter form; each problem is reported against its own field."""
    values = {name: params.get(name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    for name, limit in LIMITS.items():
        if _CONTROL.search(values[name]):
            errors[name] = "Remove the control characters (tabs, line breaks) from this filter."
        elif len(values[name]) > limit:
            errors[name] = f"Enter at most {limit} characters."
    result = values["result"].lower()
    if result not in RESULTS:
        errors["result"] = "Choose any, success or failure."
    values["result"] = "" if result == "any" else result
    start = _instant(values["from"], "from", errors)
    to = _instant(values["to"], "to", errors)
    # "To" includes the minute (or second, or day) it names.
    end = _plus(*to) if to else None
    if start is not None and end is not None and start[0] >= end:
        errors["from"] = "From must not be later than To."
    query = AuditQuery(
        start=start[0] if start else None, end=end,
        entity_id=values["client"] or None, action=values["action"] or None,
        request_id=values["request"] or None, actor=values["actor"] or None,
        result=RESULTS.get(result),
        page_number=page_number, page_size=PAGE_SIZE, newest_first=True)
    return Filters(values, query, {name: errors[name] for name in FIELDS if name in errors})


def _instant(text: str, name: str, errors: dict[str, str]) -> tuple[datetime, timedelta] | None:
    """The UTC instant ``text`` names and its precision, or None (an error is noted if bad)."""
    if not text:
        return None
    found = _INSTANT.fullmatch(text)
    value = None
    if found:
        try:
            value = datetime.fromisoformat(text.removesuffix("Z").replace(" ", "T"))
        except ValueError:
            value = None
    if found is None or value is None:
        errors[name] = (f"Enter the {'start' if name == 'from' else 'end'} as a UTC date and "
                        "time, e.g. 2026-03-01T14:30.")
        return None
    if not found.group(2):
        precision = timedelta(days=1)
    elif not found.group(3):
        precision = timedelta(minutes=1)
    elif "." not in found.group(3):
        precision = timedelta(seconds=1)
    else:
        precision = timedelta(microseconds=1)
    return value.replace(tzinfo=UTC), precision


def _plus(value: datetime, delta: timedelta) -> datetime | None:
    try:
        return value + delta
    except OverflowError:  # the end of year 9999: no upper bound
        return None


def _page_number(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= 7 and 1 <= int(text) <= MAX_PAGE:
        return int(text)
    return 1


async def audit_log(ctx: Page) -> Response:
    caller = ctx.signed_in
    AuditTrail.check(caller)
    params = ctx.request.query_params
    filters = read_filters(params, page_number=_page_number(params.get("page", "")))
    events: list[StoredEvent] = []
    total = 0
    names = Names()
    async with ctx.transaction() as conn:
        trail = ctx.runtime.audit_trail(conn)
        actions = await trail.actions(caller)
        if not filters.errors:
            found, total = await trail.query(caller, filters.query)
            events = list(found)
            subjects = ctx.runtime.audit_subjects(conn)
            shown = [s.event for s in events]
            names = Names(await subjects.gone(caller, shown),
                          await subjects.names(caller, shown))
    page = filters.query.page_number
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if filters.values["action"] and filters.values["action"] not in actions:
        actions = sorted([*actions, filters.values["action"]])

    def page_url(number: int) -> str:
        return "/admin/audit?" + urlencode(
            {**{k: v for k, v in filters.values.items() if v}, "page": str(number)})

    suffix = f"?{filters.query_string}" if filters.query_string else ""
    return ctx.render(
        "audit/log.html", 400 if filters.errors else 200, filters=filters.values,
        errors=filters.errors, events=events, total=total, page=page, pages=pages,
        first_shown=(page - 1) * PAGE_SIZE + 1, last_shown=(page - 1) * PAGE_SIZE + len(events),
        previous_url=page_url(min(page - 1, pages)) if page > 1 else "",
        next_url=page_url(page + 1) if page < pages else "",
        export_csv_url=f"/admin/audit/export.csv{suffix}",
        export_json_url=f"/admin/audit/export.json{suffix}",
        actions=actions, readable=readable, names=names)


async def export_csv(ctx: Page) -> Response:
    return await _export(ctx, "csv")


async def export_json(ctx: Page) -> Response:
    return await _export(ctx, "json")


async def _export(ctx: Page, fmt: str) -> Response:
    """Every matching event, oldest first, as of the moment of the request.

    The export is audited (with its filters) before the first byte goes out, so an export
    is on record even if the download is cut short; the export's own entry is not in it.
    """
    caller = ctx.signed_in
    AuditTrail.check(caller)  # before the filters are read: strangers learn nothing of them
    filters = read_filters(ctx.request.query_params)
    if filters.errors:
        raise InvalidInputError([Problem(name, "invalid.value", message)
                                 for name, message in filters.errors.items()])
    now = ctx.runtime.clock()
    async with ctx.transaction() as conn:
        export = await ctx.runtime.audit_trail(conn).start_export(
            caller, filters.query, fmt=fmt,
            filters={k: v for k, v in filters.values.items() if v})
    events = _walk(ctx.runtime, caller, filters.query, through_seq=export.through_seq)
    filename = f"keystead-audit-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.{fmt}"
    body = _csv(events) if fmt == "csv" else _json(events)
    return StreamingResponse(
        body, media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"'})


async def _walk(runtime: Runtime, caller: Caller, query: AuditQuery, *,
                through_seq: int) -> AsyncIterator[list[StoredEvent]]:
    """The matching events in batches, each read in its own short transaction."""
    after = 0
    while True:
        async with runtime.transaction() as conn:
            batch = await runtime.audit_trail(conn).export_batch(
                caller, query, after_seq=after, through_seq=through_seq, limit=EXPORT_BATCH)
        if not batch:
            return
        yield batch
        after = batch[-1].seq


def export_record(stored: StoredEvent) -> dict[str, Any]:
    e = stored.event
    return {"seq": stored.seq, "id": stored.id,
            "timestamp": e.timestamp.astimezone(UTC).isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "actorKind": e.actor_kind, "actorId": e.actor_id, "actorName": e.actor_name,
            "action": e.action, "entityType": e.entity_type, "entityId": e.entity_id,
            "entityName": e.entity_name, "result": str(e.result), "remoteIp": e.remote_ip,
            "requestId": e.request_id, "actorDivisions": list(e.actor_divisions),
            "details": e.details}


def csv_cell(value: object) -> str:
    """The cell's text, with a leading apostrophe if a spreadsheet would run it as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def _csv(events: AsyncIterator[list[StoredEvent]]) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    yield out.getvalue()
    async for batch in events:
        out.seek(0)
        out.truncate()
        for stored in batch:
            record = export_record(stored)
            record["details"] = json.dumps(record["details"], sort_keys=True,
                                           separators=(",", ":"), ensure_ascii=False,
                                           default=str)
            record["actorDivisions"] = " ".join(record["actorDivisions"])
            writer.writerow([csv_cell(record[column]) for column in EXPORT_COLUMNS])
        yield out.getvalue()


async def _json(events: AsyncIterator[list[StoredEvent]]) -> AsyncIterator[str]:
    yield '{"entities": ['
    total = 0
    async for batch in events:
        yield ("," if total else "") + ",".join(
            json.dumps(export_record(s), ensure_ascii=False, default=str) for s in batch)
        total += len(batch)
    yield f'], "total": {total}}}'


routes: list[Route] = [
    route("/admin/audit", audit_log),
    route("/admin/audit/export.csv", export_csv),
    route("/admin/audit/export.json", export_json),
]
