"""`keystead audit query|export|tail`: read the audit log, locally or through the API.

Both modes read pages in the shape of ``POST /api/v2/audits/query/realtime`` (the API's
``AuditLogMessage`` entries), so each command is written once over ``_page``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.output import Column, JsonOption, emit_rows
from keystead.cli.remote import api
from keystead.cli.run import run_with_runtime
from keystead.domain.principal import Caller
from keystead.store.audit import AuditQuery, SqlAuditLog
from keystead.web.presenters import audit_json
from keystead.web.runtime import Runtime

QUERY = "/api/v2/audits/query/realtime"
PAGE_SIZE = 500
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Option name → the API's filter property.
FILTERS = {"action": "action", "entity_id": "entityId", "entity_type": "entityType",
           "actor_id": "actorId"}
AUDIT_COLUMNS: list[Column] = [
    ("TIME", lambda e: e.get("eventDate")), ("ACTION", lambda e: e.get("action")),
    ("ENTITY TYPE", lambda e: e.get("entityType")),
    ("ENTITY", lambda e: (e.get("entity") or {}).get("name") or (e.get("entity") or {}).get("id")),
    ("ACTOR", lambda e: e["context"].get("actorName") or e["context"].get("actorId")),
    ("STATUS", lambda e: e.get("status"))]

Since = Annotated[str | None, typer.Option(
    "--since", metavar="DATE", help="From this ISO date or time (UTC unless it says)")]
Until = Annotated[str | None, typer.Option(
    "--until", metavar="DATE", help="Up to this ISO date or time (default: now)")]
Action = Annotated[str | None, typer.Option(metavar="ACTION", help="e.g. create, delete")]
EntityId = Annotated[str | None, typer.Option(metavar="ID", help="What was acted on")]
EntityType = Annotated[str | None, typer.Option(metavar="TYPE", help="e.g. OAuthClient")]
ActorId = Annotated[str | None, typer.Option(metavar="ID", help="Who acted (user or client)")]


def _instant(text: str | None, default: datetime, option: str) -> datetime:
    if text is None:
        return default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        stop(f"{option} must be an ISO date or time, e.g. 2026-11-30 or "
             "2026-11-30T08:00:00Z", exit_codes.USAGE)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _page(filters: dict[str, str], start: datetime, end: datetime, *, number: int, size: int,
          ascending: bool) -> tuple[list[dict[str, Any]], int]:
    """One page of entries and how many match in all."""
    remote = api()
    if remote is not None:
        body = {"interval": f"{start.isoformat()}/{end.isoformat()}",
                "filters": [{"property": FILTERS[k], "value": v} for k, v in filters.items()],
                "pageNumber": number, "pageSize": size,
                "sort": [{"name": "Timestamp",
                          "sortOrder": "ascending" if ascending else "descending"}]}
        page = remote.call("POST", QUERY, body=body)
        return list(page["entities"]), int(page["total"])

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> Any:
        query = AuditQuery(start=start, end=end, page_number=number, page_size=size,
                           newest_first=not ascending, action=filters.get("action"),
                           entity_id=filters.get("entity_id"),
                           entity_type=filters.get("entity_type"),
                           actor_id=filters.get("actor_id"))
        found, total = await SqlAuditLog(conn).query(query)
        return [audit_json(e) for e in found], total

    entities, total = run_with_runtime(work)
    return list(entities), int(total)


def _filters(**named: str | None) -> dict[str, str]:
    return {name: value for name, value in named.items() if value}


def audit_query(since: Since = None, until: Until = None, action: Action = None,
                entity_id: EntityId = None, entity_type: EntityType = None,
                actor_id: ActorId = None,
                limit: Annotated[int, typer.Option(metavar="N", min=1, max=PAGE_SIZE,
                                                   help="At most N entries")] = 50,
                as_json: JsonOption = False) -> None:
    """The newest entries that match (default: the last 24 hours), newest first."""
    now = datetime.now(UTC)
    found, _total = _page(_filters(action=action, entity_id=entity_id, entity_type=entity_type,
                                   actor_id=actor_id),
                          _instant(since, now - timedelta(days=1), "--since"),
                          _instant(until, now, "--until"), number=1, size=limit,
                          ascending=False)
    emit_rows(found, AUDIT_COLUMNS, as_json=as_json)


def audit_export(since: Since = None, until: Until = None, action: Action = None,
                 entity_id: EntityId = None, entity_type: EntityType = None,
                 actor_id: ActorId = None) -> None:
    """Every matching entry (default: all), oldest first, one JSON object a line (JSON
    Lines): ``keystead audit export > audit.jsonl``."""
    now = datetime.now(UTC)
    filters = _filters(action=action, entity_id=entity_id, entity_type=entity_type,
                       actor_id=actor_id)
    start, end = _instant(since, EPOCH, "--since"), _instant(until, now, "--until")
    number = 1
    while True:
        found, total = _page(filters, start, end, number=number, size=PAGE_SIZE, ascending=True)
        for entry in found:
            typer.echo(json.dumps(entry, separators=(",", ":")))
        if number * PAGE_SIZE >= total or not found:
            return
        number += 1


def audit_tail(
    lines: Annotated[int, typer.Option("-n", "--lines", metavar="N", min=1, max=PAGE_SIZE,
                                       help="How many of the newest entries to show")] = 10,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new entries "
                                                                "until interrupted")] = False,
    interval: Annotated[float, typer.Option(metavar="SECONDS", min=0.5,
                                            help="How often --follow asks")] = 2.0,
    as_json: JsonOption = False,
) -> None:
    """The newest entries, oldest first (as `tail`); with --follow, new ones as they come."""
    def newest(count: int) -> list[dict[str, Any]]:
        found, _total = _page({}, EPOCH, datetime.now(UTC) + timedelta(minutes=1), number=1,
                              size=count, ascending=False)
        return list(reversed(found))

    def show(entries: list[dict[str, Any]]) -> None:
        if as_json:
            for entry in entries:
                typer.echo(json.dumps(entry, separators=(",", ":")))
        else:
            emit_rows(entries, AUDIT_COLUMNS, as_json=False)

    shown = newest(lines)
    show(shown)
    last = max((int(e["context"]["sequence"]) for e in shown), default=0)
    while follow:
        time.sleep(interval)
        fresh = [e for e in newest(PAGE_SIZE) if int(e["context"]["sequence"]) > last]
        if fresh:
            show(fresh)
            last = int(fresh[-1]["context"]["sequence"])
