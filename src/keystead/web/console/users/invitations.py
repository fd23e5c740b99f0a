"""A user's invitation on their page: sending a new link (the old one dies), revoking it."""

from __future__ import annotations

from starlette.responses import Response

from keystead.web.console.forms import act
from keystead.web.console.pages import Page, path_id


async def send_again(ctx: Page) -> Response:
    user_id = path_id(ctx)
    return await act(
        ctx, lambda conn: ctx.runtime.invitations(conn).send_again(ctx.signed_in, user_id),
        f"/admin/users/{user_id}?notice=invitation-sent#invitation")


async def revoke(ctx: Page) -> Response:
    user_id = path_id(ctx)
    return await act(
        ctx, lambda conn: ctx.runtime.invitations(conn).revoke(ctx.signed_in, user_id),
        f"/admin/users/{user_id}?notice=invitation-revoked#invitation")
