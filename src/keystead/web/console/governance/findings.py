"""The findings pages: the filtered list with "Evaluate now", and a finding's page with its
evidence, its one-step fix (confirmed before it is posted), archive with a reason and unarchive.

Every action is the API's use case (domain/governance/finding_engine.py) as the signed-in user:
the same permissions, the same audit entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.findings import (
    Finding,
    FindingKind,
    FindingState,
    Severity,
    finding_filter,
)
from keystead.domain.paging import Page as Paging
from keystead.web.console.forms import SHOWN, Refused, act, submit
from keystead.web.console.pages import Page, path_id, route

F = TypeVar("F")
BASE = "/admin/governance/findings"
PAGE_SIZE = 50
NOTICES = {
    "evaluated": "Findings evaluated.",
    "fixed": "Fixed: the change is made and audited in your name.",
    "archived": "Finding archived.",
    "unarchived": "Finding active again.",
}


def _render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    return ctx.render_with(NOTICES, template, status, kinds=[k.value for k in FindingKind],
                      states=[s.value for s in FindingState],
                      severities=[s.value for s in Severity], evidence_text=evidence_text,
                      **context)


def evidence_text(finding: Finding) -> list[tuple[str, str]]:
    """The evidence as label/value pairs (lists joined, nothing else changed)."""
    rows = []
    for name, value in finding.evidence.items():
        shown = (", ".join(str(v) for v in value) if isinstance(value, list)
                 else "—" if value is None else json.dumps(value) if isinstance(value, dict)
                 else str(value))
        rows.append((name, shown))
    return rows


@dataclass(frozen=True, slots=True)
class ListQuery(Generic[F]):
    chosen: dict[str, str]  # the filter form's values, as sent
    filter: F
    problem: str  # why a value was ignored, or empty
    number: int  # the page asked for


def list_query(ctx: Page, names: tuple[str, ...], parse: Callable[[dict[str, str]], F]
               ) -> ListQuery[F]:
    """A list page's filter and page number from the query string (findings, alerts)."""
    params = ctx.request.query_params
    chosen = {name: params.get(name, "") for name in names}
    try:
        flt = parse({k: v for k, v in chosen.items() if v})
    except InvalidInputError as exc:
        # An unknown filter value (a hand-edited address): show everything and say why.
        flt, problem = parse({}), exc.problems[0].message
    else:
        problem = ""
    raw = params.get("pageNumber", "1")
    number = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6 else 1
    return ListQuery(chosen, flt, problem, number)


async def findings_list(ctx: Page) -> Response:
    caller = ctx.signed_in
    query = list_query(ctx, ("kind", "state", "clientId"), finding_filter)
    chosen, flt, problem, number = query.chosen, query.filter, query.problem, query.number
    async with ctx.transaction() as conn:
        rows, total = await ctx.runtime.findings(conn).search(caller, flt,
                                                              Paging(number, PAGE_SIZE))
    return _render(ctx, "governance/findings.html", rows=rows, total=total, chosen=chosen,
                   problem=problem, number=number, pages=max(1, -(-total // PAGE_SIZE)))


async def evaluate_now(ctx: Page) -> Response:
    return await act(ctx, lambda conn: ctx.runtime.findings(conn).evaluate(ctx.signed_in),
                     f"{BASE}?notice=evaluated")


async def _finding_view(ctx: Page, finding_id: str, refused: Refused = SHOWN) -> Response:
    async with ctx.transaction() as conn:
        finding = await ctx.runtime.findings(conn).find(ctx.signed_in, finding_id)
    return _render(ctx, "governance/finding.html", refused.status, finding=finding,
                   url=f"{BASE}/{finding.id}", errors=refused.errors, message=refused.message)


async def finding_page(ctx: Page) -> Response:
    return await _finding_view(ctx, path_id(ctx))


def _action(name: str, notice: str) -> Any:
    async def handler(ctx: Page) -> Response:
        finding_id = path_id(ctx)
        reason = ctx.field("reason")

        async def change(conn: AsyncConnection) -> Finding:
            findings = ctx.runtime.findings(conn)
            if name == "archive":
                return await findings.archive(ctx.signed_in, finding_id, reason)
            if name == "unarchive":
                return await findings.unarchive(ctx.signed_in, finding_id)
            return await findings.remedy(ctx.signed_in, finding_id)

        return await submit(ctx, change, done=lambda f: f"{BASE}/{f.id}?notice={notice}",
                            again=lambda refused: _finding_view(ctx, finding_id, refused))
    return handler


PAGE = BASE + "/{id:entity}"
routes = [
    route(BASE, findings_list),
    route(f"{BASE}/evaluate", post=evaluate_now),
    route(PAGE, finding_page),
    route(f"{PAGE}/archive", post=_action("archive", "archived")),
    route(f"{PAGE}/unarchive", post=_action("unarchive", "unarchived")),
    route(f"{PAGE}/remedy", post=_action("remedy", "fixed")),
]
