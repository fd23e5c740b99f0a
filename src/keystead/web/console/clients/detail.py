"""A client's page and its actions: disable, enable, schedule deletion, delete.

The page is in sections an admin jumps between (settings, credentials, roles and scopes, usage,
activity): its usage as a chart of the last 90 days, its audit trail for those who may read
the log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.clients import Client, ClientSettings, ClientState
from keystead.domain.governance.ownership import is_orphaned
from keystead.domain.permissions import Permission
from keystead.web.console.charts import Series, daily_chart
from keystead.web.console.clients.catalogue import catalogue
from keystead.web.console.clients.form import ClientForm, Errors
from keystead.web.console.clients.owners import ENVIRONMENTS
from keystead.web.console.clients.presenters import (
    AUDIT_LOG,
    BASE,
    CLIENT_NOTICES,
    DUAL_USE_CHOICES,
    common,
    in_window,
    secret_status,
    who,
)
from keystead.web.console.durations import duration
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id, redirect


async def detail(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        client = await ctx.runtime.management(conn).find(ctx.signed_in, path_id(ctx))
    return await render_detail(ctx, client, Errors())


async def render_detail(ctx: Page, client: Client, errors: Errors, *, status: int = 200,
                        typed: dict[str, str] | None = None) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(ctx.runtime, conn, ctx.signed_in)
        planned = await ctx.runtime.deactivations(conn).pending(client.id)
        owners = await ctx.runtime.management(conn).owners_of([client])
        pending = await ctx.runtime.client_deletion(conn).pending_for(ctx.signed_in, client.id)
        delivery = await ctx.runtime.secret_delivery(conn).pending(client.id)
        usage = await ctx.runtime.client_usage(conn).daily(ctx.signed_in, client.id)
        sees_audit = ctx.signed_in.has_permission(Permission.AUDITS_AUDIT_VIEW)
        activity = await ctx.runtime.client_activity(conn).recent(
            ctx.signed_in, client.id) if sees_audit else ()
    caller = ctx.signed_in
    now = ctx.runtime.clock()
    default_window = ctx.runtime.settings.default_dual_use_seconds
    windows = dict(DUAL_USE_CHOICES)
    windows.setdefault(default_window, duration(default_window))
    return ctx.render_with(
        CLIENT_NOTICES, "clients/detail.html", status, **common(ctx), client=client,
        errors=errors, typed=typed or {}, offered=offered, who=who, pending_deletion=pending,
        roles=[offered.describe(f"{rd.role_id}:{rd.division_id}")
               for rd in client.settings.role_divisions],
        secret_status=lambda s: secret_status(s, now), in_window=in_window(client, now),
        windows=sorted(windows.items()), default_window=default_window,
        may_edit=caller.has_permission(Permission.OAUTH_CLIENT_EDIT),
        may_delete=caller.has_permission(Permission.OAUTH_CLIENT_DELETE),
        tomorrow=date.fromordinal(now.date().toordinal() + 1).isoformat(),
        owner=owners.get(client.settings.owner_id or ""),
        orphaned=is_orphaned(client, owners), environments=ENVIRONMENTS, planned=planned,
        delivery=delivery, delivery_place=", ".join(
            f"{k} {v}" for k, v in sorted(delivery.settings.items())) if delivery else "",
        usage=usage, usage_chart=daily_chart(
            "usage-chart", f"Tokens issued and failed authentications of {client.settings.name}, "
            f"per UTC day, last {len(usage.days)} days", usage.days,
            [Series("Tokens issued", usage.issued),
             Series("Failed authentications", usage.failures)]),
        sees_audit=sees_audit, activity=activity,
        audit_url=f"{AUDIT_LOG}?{urlencode({'client': client.id})}")


async def find_client(ctx: Page, permission: Permission) -> Client:
    async with ctx.transaction() as conn:
        return await ctx.runtime.management(conn).find(ctx.signed_in, path_id(ctx),
                                                       permission=permission)


async def change_state(ctx: Page, client: Client, settings: ClientSettings,
                       notice: str) -> Response:
    """Save a state change; a rule the change breaks is shown on the client's page."""

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.management(conn).update(ctx.signed_in, client.id, settings)

    async def again(refused: Refused) -> Response:
        return await render_detail(ctx, client, Errors(refused.errors), status=refused.status,
                                   typed={"dateToDelete": ctx.field("dateToDelete")})

    return await submit(
        ctx, update, again=again, done=lambda _: f"{BASE}/{client.id}?notice={notice}",
        fields=lambda problems: Errors.of(problems, ClientForm.of(client.settings)))


async def disable(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await change_state(ctx, client, client.settings.switched(ClientState.disabled),
                              "disabled")


async def enable(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await change_state(ctx, client, client.settings.switched(ClientState.active),
                              "enabled")


async def schedule_deletion(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    typed = ctx.field("dateToDelete").strip()
    try:
        day = date.fromisoformat(typed) if "\x00" not in typed else None
    except ValueError:
        day = None
    errors = Errors()
    if day is None:
        errors.add("dateToDelete", "enter the deletion date as a date, e.g. 2026-12-31")
    elif day <= ctx.runtime.clock().astimezone(UTC).date():
        errors.add("dateToDelete", "choose a date after today: the client is deleted at "
                                   "00:00 UTC on that date")
    else:
        return await change_state(ctx, client, replace(
            client.settings, state=ClientState.inactive,
            date_to_delete=datetime.combine(day, time.min, tzinfo=UTC)), "deletion-scheduled")
    return await render_detail(ctx, client, errors, status=400, typed={"dateToDelete": typed})


async def delete(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_DELETE)
    typed = ctx.field("confirm-name")
    if typed != client.settings.name:
        errors = Errors()
        errors.add("confirm-name", "type the client's name exactly as shown to delete it")
        return await render_detail(ctx, client, errors, status=400,
                                   typed={"confirm-name": typed})
    async with ctx.transaction() as conn:
        pending = await ctx.runtime.client_deletion(conn).delete(ctx.signed_in, client.id)
    if pending is not None:  # the policy asks a second admin to approve
        return redirect(f"{BASE}/{client.id}?notice=deletion-requested")
    return redirect(f"{BASE}?notice=deleted")
