"""The dashboard: what needs an admin's attention.

Each section shows only to those allowed to see its data: the client sections need
``oauth:client:view``, the findings section ``governance:finding:view``, the
failed-authentication and recent-change sections (audit data) need ``audits:audit:view``.
Of an event's details only the ``reason`` is shown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audit import AuditEvent
from keystead.domain.permissions import Permission
from keystead.store.dashboard import SqlDashboard
from keystead.web.console.pages import Page, route

UNUSED_DAYS = 90
LISTED = 50  # rows per client list; the heading says how many there are in all
RECENT = 10
WORST = 5  # clients with the worst active findings


def reason(event: AuditEvent) -> str:
    """Why an attempt failed: the ``reason`` detail only, never any other detail."""
    value = event.details.get("reason")
    return value if isinstance(value, str) else ""


async def dashboard(ctx: Page) -> Response:
    caller = ctx.signed_in
    now = ctx.runtime.clock()
    rotation_days = ctx.runtime.settings.secret_rotation_days
    sees_clients = caller.has_permission(Permission.OAUTH_CLIENT_VIEW)
    sees_audit = caller.has_permission(Permission.AUDITS_AUDIT_VIEW)
    sees_findings = caller.has_permission(Permission.GOVERNANCE_FINDING_VIEW)
    context: dict[str, Any] = {}
    async with ctx.transaction() as conn:
        board = SqlDashboard(conn)
        if sees_clients:
            context["counts"] = await board.clients_by_state()
            context["stale"] = await board.stale_secrets(
                created_before=now - timedelta(days=rotation_days), limit=LISTED)
            context["unused"] = await board.unused_clients(
                idle_since=now - timedelta(days=UNUSED_DAYS), limit=LISTED)
        if sees_findings:
            context["findings"] = await ctx.runtime.findings(conn).summary(caller, worst=WORST)
        if sees_audit:
            context["failures"] = await board.failed_authentications(limit=RECENT)
            context["changes"] = await board.recent_changes(limit=RECENT)
            context["implicit"] = await board.implicit_use(
                since=now - timedelta(days=UNUSED_DAYS), limit=LISTED)
    return ctx.render("dashboard.html", now=now, rotation_days=rotation_days,
                      unused_days=UNUSED_DAYS, recent=RECENT, sees_clients=sees_clients,
                      sees_audit=sees_audit, sees_findings=sees_findings, reason=reason,
                      **context)


routes: list[Route] = [route("/admin", dashboard)]
