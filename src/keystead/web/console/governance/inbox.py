"""The inbox: the signed-in user's notices, newest first, each marked read on request."""

from __future__ import annotations

from starlette.responses import Response

from keystead.domain.paging import Page as Paging
from keystead.web.console.forms import act
from keystead.web.console.pages import Page, path_id, route

BASE = "/admin/inbox"
SHOWN = 100
NOTICES = {"read": "The notice is marked read."}


async def inbox(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        notices, total = await ctx.runtime.inbox(conn).list(ctx.signed_in, Paging(1, SHOWN))
    return ctx.render_with(NOTICES, "governance/inbox.html", notices=notices,
                           total=total, shown=SHOWN)


async def mark_read(ctx: Page) -> Response:
    notice_id = path_id(ctx)
    return await act(ctx, lambda conn: ctx.runtime.inbox(conn).mark_read(ctx.signed_in, notice_id),
                     f"{BASE}?notice=read")


routes = [route(BASE, inbox),
          route(BASE + "/{id:entity}/read", post=mark_read)]
