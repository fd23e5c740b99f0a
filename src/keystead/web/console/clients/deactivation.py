"""A client's planned deactivation from its page: plan or reschedule (date, reason, optional
replacement), and cancel. The rules are the domain's (DeactivationPlanning): each refused field
is shown beside its input on the client's page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.web.console.clients.detail import find_client, render_detail
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.presenters import BASE
from keystead.web.console.forms import Refused, field_errors, submit
from keystead.web.console.pages import Page, redirect

TYPED = ("deactivateAt", "reason", "replacementClientId")


async def plan(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    typed = {name: ctx.field(name).strip() for name in TYPED}

    async def change(conn: AsyncConnection) -> None:
        try:
            day = date.fromisoformat(typed["deactivateAt"])
        except ValueError as exc:
            raise InvalidInputError.one("deactivateAt", "invalid.date",
                                        "enter the date as a date, e.g. 2027-01-31") from exc
        await ctx.runtime.deactivations(conn).plan(
            ctx.signed_in, client.id, deactivate_at=datetime.combine(day, time.min, tzinfo=UTC),
            reason=typed["reason"], replacement_client_id=typed["replacementClientId"] or None)

    async def again(refused: Refused) -> Response:
        errors = Errors()
        for name, message in refused.errors.items():
            errors.add(name, message)
        return await render_detail(ctx, client, errors, status=refused.status, typed=typed)

    return await submit(ctx, change, again=again, fields=field_errors,
                        done=lambda _: f"{BASE}/{client.id}?notice=deactivation-planned")


async def cancel(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    async with ctx.transaction() as conn:
        await ctx.runtime.deactivations(conn).cancel(ctx.signed_in, client.id)
    return redirect(f"{BASE}/{client.id}?notice=deactivation-cancelled")
