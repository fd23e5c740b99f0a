"""The dashboard: what needs an admin's attention, and the last 30 days' traffic.

Each section shows only to those allowed to see its data (``domain/dashboard.py`` decides): the
client sections and the trend need ``oauth:client:view``, the findings section
``governance:finding:view``, the failed-authentication and recent-change sections (audit data)
need ``audits:audit:view``. Of an event's details only the ``reason`` is shown.

Sections with nothing to show fold into one short "nothing to do" panel rather than a card each.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audit import AuditEvent
from keystead.domain.dashboard import Trend
from keystead.domain.permissions import Permission
from keystead.web.console.audit_names import Names
from keystead.web.console.charts import Series, daily_chart
from keystead.web.console.pages import Page, route

UNUSED_DAYS = 90
LISTED = 50  # rows per client list; the heading says how many there are in all
RECENT = 10
WORST = 5  # clients with the worst active findings


def reason(event: AuditEvent) -> str:
    """Why an attempt failed: the ``reason`` detail only, never any other detail."""
    value = event.details.get("reason")
    return value if isinstance(value, str) else ""


def trend_chart(trend: Trend) -> Markup:
    return daily_chart("usage-trend", "Tokens issued and failures per UTC day", trend.days,
                       [Series("Tokens issued", trend.tokens),
                        Series("Failures", trend.failures)])


async def dashboard(ctx: Page) -> Response:
    caller = ctx.signed_in
    rotation_days = ctx.runtime.settings.secret_rotation_days
    context: dict[str, Any] = {}
    async with ctx.transaction() as conn:
        board = ctx.runtime.dashboard(conn)
        health = await board.clients(caller, rotation_days=rotation_days,
                                     unused_days=UNUSED_DAYS, limit=LISTED)
        trend = await board.trend(caller)
        audit = await board.audit(caller, recent=RECENT, implicit_days=UNUSED_DAYS,
                                  limit=LISTED)
        if caller.has_permission(Permission.GOVERNANCE_FINDING_VIEW):
            context["findings"] = await ctx.runtime.findings(conn).summary(caller, worst=WORST)
        names = Names()
        if audit:
            subjects, shown = ctx.runtime.audit_subjects(conn), [s.event for s in audit.changes]
            names = Names(await subjects.gone(caller, shown), await subjects.names(caller, shown))
    if health:
        context.update(counts=health.counts, stale=health.stale, unused=health.unused)
    if audit:
        context.update(failures=audit.failures, changes=audit.changes,
                       implicit=audit.implicit)
    return ctx.render("dashboard.html", now=ctx.runtime.clock(), rotation_days=rotation_days,
                      unused_days=UNUSED_DAYS, recent=RECENT, sees_clients=health is not None,
                      sees_audit=audit is not None, sees_findings="findings" in context,
                      reason=reason, names=names,
                      trend=trend_chart(trend) if trend else None,
                      recording=ctx.runtime.settings.evidence_recording,
                      quiet=trend is not None and not any(trend.tokens) and not any(
                          trend.failures), **context)


routes: list[Route] = [route("/admin", dashboard)]
