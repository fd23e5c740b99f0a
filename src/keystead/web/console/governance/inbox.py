"""The inbox: the signed-in user's notices, newest first, each marked read on request."""

from __future__ import annotations

from starlette.responses import Response

from keystead.domain.paging import Page as Paging
from keystead.web.console.pages import Page, path_id, redirect, route

BASE = "/admin/inbox"
SHOWN = 100
NOTICES = {"read": "The notice is marked read."}


async def inbox(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        notices, total = await ctx.runtime.inbox(conn).list(ctx.signed_in, Paging(1, SHOWN))
    ctx.notices = NOTICES
    return ctx.render("governance/inbox.html", notices=notices, total=total, shown=SHOWN)


async def mark_read(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        await ctx.runtime.inbox(conn).mark_read(ctx.signed_in, path_id(ctx))
    return redirect(f"{BASE}?notice=read")


routes = [route(BASE, inbox),
          route(BASE + "/{id:entity}/read", mark_read, methods=("POST",))]
