"""A user's invitation on their page: sending a new link (the old one dies), revoking it."""

from __future__ import annotations

from starlette.responses import Response

from keystead.web.console.pages import Page, path_id, redirect


async def send_again(ctx: Page) -> Response:
    user_id = path_id(ctx)
    async with ctx.transaction() as conn:
        await ctx.runtime.invitations(conn).send_again(ctx.signed_in, user_id)
    return redirect(f"/admin/users/{user_id}?notice=invitation-sent#invitation")


async def revoke(ctx: Page) -> Response:
    user_id = path_id(ctx)
    async with ctx.transaction() as conn:
        await ctx.runtime.invitations(conn).revoke(ctx.signed_in, user_id)
    return redirect(f"/admin/users/{user_id}?notice=invitation-revoked#invitation")
