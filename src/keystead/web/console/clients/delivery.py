"""Rotating a client's secret into its destination from the client's page (the destination
itself is set through the API or the CLI). The new secret is shown to no one: the page says
where it went; a failure is shown on the page, the client keeping its secret."""

from __future__ import annotations

from starlette.responses import Response

from keystead.domain.errors import ConflictError, InvalidInputError
from keystead.domain.permissions import Permission
from keystead.domain.secret_delivery import DeliveryFailedError
from keystead.web import delivery_runs
from keystead.web.console.clients.detail import find_client, render_detail
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.presenters import BASE
from keystead.web.console.pages import Page, redirect


async def deliver(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    raw = ctx.field("dualUseSeconds").strip()
    window = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 7 else -1
    try:
        async with ctx.transaction() as conn:
            staged = await ctx.runtime.secret_delivery(conn).stage(
                ctx.signed_in, client.id, dual_use_seconds=window)
    except DeliveryFailedError as exc:
        await delivery_runs.record_failure(ctx.runtime, ctx.signed_in, client.id, exc)
        return await _refused(ctx, exc.message, status=exc.status)
    except (InvalidInputError, ConflictError) as exc:
        return await _refused(ctx, exc.message, status=exc.status)
    try:
        await delivery_runs.complete(ctx.runtime, ctx.signed_in, staged)
    except DeliveryFailedError as exc:  # undone and audited: the client keeps its secret
        return await _refused(ctx, exc.message, status=exc.status)
    return redirect(f"{BASE}/{client.id}?notice=secret-delivered")


async def _refused(ctx: Page, message: str, *, status: int) -> Response:
    errors = Errors()
    errors.add("deliver", message)
    return await render_detail(ctx, await find_client(ctx, Permission.OAUTH_CLIENT_VIEW),
                               errors, status=status)
