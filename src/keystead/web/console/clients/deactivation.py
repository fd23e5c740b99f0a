"""A client's planned deactivation from its page: plan it (date, reason, replacement) and
cancel it. The rules are the domain's (``PlannedDeactivation``); its problems are shown beside
the form's fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.governance.deactivation import Planned
from keystead.domain.permissions import Permission
from keystead.web.console.clients.detail import find_client, render_detail
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.presenters import BASE
from keystead.web.console.forms import Refused, field_errors, submit
from keystead.web.console.pages import Page, redirect

FIELDS = ("deactivationDate", "deactivationReason", "replacementClientId")
WIRE_TO_FORM = {"date": "deactivationDate", "reason": "deactivationReason",
                "replacementClientId": "replacementClientId"}


def _day(typed: str) -> date | None:
    try:
        return date.fromisoformat(typed) if "\x00" not in typed else None
    except ValueError:
        return None


async def plan(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    typed = {name: ctx.field(name).strip() for name in FIELDS}
    day = _day(typed["deactivationDate"])
    if day is None:
        errors = Errors()
        errors.add("deactivationDate", "enter the date as a date, e.g. 2027-03-31")
        return await render_detail(ctx, client, errors, status=400, typed=typed)

    async def schedule(conn: AsyncConnection) -> Planned:
        return await ctx.runtime.deactivations(conn).schedule(
            ctx.signed_in, client.id, date=datetime.combine(day, time.min, tzinfo=UTC),
            reason=typed["deactivationReason"],
            replacement_id=typed["replacementClientId"] or None)

    async def again(refused: Refused) -> Response:
        return await render_detail(ctx, client, Errors(refused.errors), status=refused.status,
                                   typed=typed)

    return await submit(
        ctx, schedule, again=again,
        done=lambda _: f"{BASE}/{client.id}?notice=deactivation-planned",
        fields=lambda problems: {WIRE_TO_FORM.get(k, "deactivationDate"): v
                                 for k, v in field_errors(problems).items()},
        conflict="deactivationDate")


async def cancel(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    async with ctx.transaction() as conn:
        await ctx.runtime.deactivations(conn).cancel(ctx.signed_in, client.id)
    return redirect(f"{BASE}/{client.id}?notice=deactivation-cancelled")
