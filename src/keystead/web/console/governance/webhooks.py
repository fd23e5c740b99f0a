"""Webhook endpoints in the console: the list with an Add form, and each endpoint's page with its
delivery log (redeliver an attempt, recover what it missed, enable, delete). A new endpoint's
signing secret travels to its page sealed in the server-side session and leaves the session as
it is shown, as a client's secret does."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.errors import ForbiddenError
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.domain.webhooks.events import EVENTS
from keystead.web.console import sessions
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id, route

BASE = "/admin/governance/webhooks"
REVEAL = "webhook-reveal"  # the session key holding a sealed secret awaiting its one showing
SHOWN = 100
NOTICES = {"enabled": "Enabled: events are sent again.",
           "recovered": "Queued again: what the endpoint never took.",
           "redelivered": "Queued again: the event is sent once more.",
           "deleted": "Deleted."}


async def listing(ctx: Page, *, errors: Mapping[str, str] | None = None,
                  status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        found, _ = await ctx.runtime.webhooks(conn).list(ctx.signed_in, Paging(1, SHOWN))
    return ctx.render_with(NOTICES, "governance/webhooks.html", status, endpoints=found,
                           events=EVENTS, errors=errors or {}, typed_url=ctx.field("url"),
                           typed_events=ctx.fields("eventTypes"),
                           typed_description=ctx.field("description"),
                           may_add=ctx.signed_in.has_permission(Permission.GOVERNANCE_WEBHOOK_ADD))


async def show_list(ctx: Page) -> Response:
    return await listing(ctx)


async def create(ctx: Page) -> Response:
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")

    async def add(conn: AsyncConnection) -> str:
        created = await ctx.runtime.webhooks(conn).create(
            ctx.signed_in, url=ctx.field("url").strip(), event_types=ctx.fields("eventTypes"),
            description=ctx.field("description").strip())
        session.data[REVEAL] = ctx.runtime.box.seal(json.dumps({
            "endpointId": created.endpoint.id, "secret": created.secret}))
        await sessions.save_data(ctx.runtime, conn, session)
        return created.endpoint.id

    async def again(refused: Refused) -> Response:
        return await listing(ctx, errors=refused.errors, status=refused.status)

    return await submit(ctx, add, done=lambda endpoint_id: f"{BASE}/{endpoint_id}", again=again)


async def detail(ctx: Page, *, error: str = "", status: int = 200) -> Response:
    endpoint_id = path_id(ctx)
    secret = ""
    async with ctx.transaction() as conn:
        webhooks = ctx.runtime.webhooks(conn)
        endpoint = await webhooks.find(ctx.signed_in, endpoint_id)
        deliveries, total = await webhooks.deliveries(ctx.signed_in, endpoint_id,
                                                      Paging(1, SHOWN))
        session = ctx.session
        opened = ctx.runtime.box.open(session.data.get(REVEAL, "")) if session else None
        shown = json.loads(opened) if opened else {}
        if session is not None and shown.get("endpointId") == endpoint_id:
            # Out of the session before it is shown: a reload or Back finds nothing.
            del session.data[REVEAL]
            await sessions.save_data(ctx.runtime, conn, session)
            secret = str(shown["secret"])
    response = ctx.render_with(
        NOTICES, "governance/webhook.html", status, endpoint=endpoint,
        deliveries=deliveries, total=total, secret=secret, error=error,
        may_edit=ctx.signed_in.has_permission(Permission.GOVERNANCE_WEBHOOK_EDIT),
        may_delete=ctx.signed_in.has_permission(Permission.GOVERNANCE_WEBHOOK_DELETE))
    response.headers["cache-control"] = "no-store"
    return response


async def show_detail(ctx: Page) -> Response:
    return await detail(ctx)


async def _act(ctx: Page, notice: str,
               change: Callable[[AsyncConnection], Awaitable[object]]) -> Response:
    async def again(refused: Refused) -> Response:
        return await detail(ctx, error=refused.message, status=refused.status)

    return await submit(ctx, change, done=lambda _: f"{BASE}/{path_id(ctx)}?notice={notice}",
                        again=again)


async def enable(ctx: Page) -> Response:
    async def change(conn: AsyncConnection) -> object:
        return await ctx.runtime.webhooks(conn).enable(ctx.signed_in, path_id(ctx))

    return await _act(ctx, "enabled", change)


async def recover(ctx: Page) -> Response:
    async def change(conn: AsyncConnection) -> object:
        return await ctx.runtime.webhooks(conn).recover(ctx.signed_in, path_id(ctx))

    return await _act(ctx, "recovered", change)


async def redeliver(ctx: Page) -> Response:
    async def change(conn: AsyncConnection) -> object:
        return await ctx.runtime.webhooks(conn).redeliver(
            ctx.signed_in, path_id(ctx), ctx.field("deliveryId"))

    return await _act(ctx, "redelivered", change)


async def delete(ctx: Page) -> Response:
    async def change(conn: AsyncConnection) -> None:
        await ctx.runtime.webhooks(conn).delete(ctx.signed_in, path_id(ctx))

    async def again(refused: Refused) -> Response:
        return await detail(ctx, error=refused.message, status=refused.status)

    return await submit(ctx, change, done=lambda _: f"{BASE}?notice=deleted", again=again)


PAGE = BASE + "/{id:entity}"
routes = [route(BASE, show_list, post=create),
          route(PAGE, show_detail),
          route(PAGE + "/enable", post=enable),
          route(PAGE + "/recover", post=recover),
          route(PAGE + "/redeliver", post=redeliver),
          route(PAGE + "/delete", post=delete)]
