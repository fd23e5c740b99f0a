"""A user's page: changing the user, resetting their two-step verification, deleting them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.web.console.forms import Refused, act, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.console.users.view import user_view


async def user_page(ctx: Page) -> Response:
    return await user_view(ctx, path_id(ctx))


async def user_update(ctx: Page) -> Response:
    user_id = path_id(ctx)
    values = {"name": ctx.field("name"), "email": ctx.field("email"),
              "state": ctx.field("state")}

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.users(conn).update(
            ctx.signed_in, user_id, name=values["name"], email=values["email"],
            state=values["state"], password=ctx.field("password") or None,
            current_password=ctx.field("currentPassword") or None)

    async def again(refused: Refused) -> Response:
        return await user_view(ctx, user_id, refused.status, values=values, errors=refused.errors)

    return await submit(ctx, update, again=again, conflict="email",
                        done=lambda _: f"/admin/users/{user_id}?notice=user-saved")


async def mfa_reset(ctx: Page) -> Response:
    user_id = path_id(ctx)
    return await act(ctx, lambda conn: ctx.runtime.users(conn).reset_mfa(ctx.signed_in, user_id),
                     f"/admin/users/{user_id}?notice=mfa-reset")


async def user_delete(ctx: Page) -> Response:
    user_id = path_id(ctx)
    return await act(ctx, lambda conn: ctx.runtime.users(conn).delete(ctx.signed_in, user_id),
                     "/admin/users?notice=user-deleted")
