"""The alerts page: the filtered list with "Evaluate now", and acknowledge and resolve buttons
on each open one. Every action is the API's use case (domain/governance/alert_engine.py) as
the signed-in user: the same permissions, the same audit entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.governance.alerts import Alert, AlertRule, AlertState, alert_filter
from keystead.domain.paging import Page as Paging
from keystead.web.console.forms import Refused, act, submit
from keystead.web.console.governance.findings import evidence_text, list_query
from keystead.web.console.pages import Page, path_id, route

BASE = "/admin/governance/alerts"
PAGE_SIZE = 50
NOTICES = {
    "evaluated": "Alerts evaluated.",
    "acknowledged": "Alert acknowledged: it keeps counting, without new notices.",
    "resolved": "Alert resolved: a new occurrence opens a new alert.",
}


async def alerts_list(ctx: Page, refused: Refused | None = None) -> Response:
    query = list_query(ctx, ("rule", "state", "clientId"), alert_filter)
    async with ctx.transaction() as conn:
        rows, total = await ctx.runtime.alerts(conn).search(
            ctx.signed_in, query.filter, Paging(query.number, PAGE_SIZE))
    return ctx.render_with(
        NOTICES, "governance/alerts.html", refused.status if refused else 200,
        rows=rows, total=total, chosen=query.chosen,
        problem=refused.message if refused else query.problem,
        number=query.number, pages=max(1, -(-total // PAGE_SIZE)),
        rules=[r.value for r in AlertRule], states=[s.value for s in AlertState],
        evidence_text=evidence_text)


async def evaluate_now(ctx: Page) -> Response:
    return await act(ctx, lambda conn: ctx.runtime.alerts(conn).evaluate(ctx.signed_in),
                     f"{BASE}?notice=evaluated")


def _action(name: str) -> Any:
    async def handler(ctx: Page) -> Response:
        alert_id = path_id(ctx)

        async def change(conn: AsyncConnection) -> Alert:
            alerts = ctx.runtime.alerts(conn)
            if name == "acknowledge":
                return await alerts.acknowledge(ctx.signed_in, alert_id)
            return await alerts.resolve(ctx.signed_in, alert_id)

        return await submit(ctx, change, done=lambda _a: f"{BASE}?notice={name}d",
                            again=lambda refused: alerts_list(ctx, refused))
    return handler


PAGE = BASE + "/{id:entity}"
routes = [
    route(BASE, alerts_list),
    route(f"{BASE}/evaluate", post=evaluate_now),
    route(f"{PAGE}/acknowledge", post=_action("acknowledge")),
    route(f"{PAGE}/resolve", post=_action("resolve")),
]
