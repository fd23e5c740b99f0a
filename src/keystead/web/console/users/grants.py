"""A user's role grants: granting a role in a division, and removing a grant."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.clients import RoleDivision
from keystead.domain.errors import InvalidInputError
from keystead.web.console.forms import Refused, act, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.console.users.view import user_view


def choice(value: str, field: str) -> RoleDivision:
    """A "<roleId>:<divisionId>" pair from a form.

    Raises:
        InvalidInputError: not such a pair.
    """
    role_id, _, division_id = value.partition(":")
    if not role_id or not division_id or "\x00" in value:
        raise InvalidInputError.one(field, "invalid.value", "choose a role and a division")
    return RoleDivision(role_id, division_id)


async def grant_add(ctx: Page) -> Response:
    user_id = path_id(ctx)

    async def add(conn: AsyncConnection) -> None:
        grant = choice(ctx.field("grant"), "grant")
        await ctx.runtime.users(conn).grant(ctx.signed_in, user_id, grant)

    async def again(refused: Refused) -> Response:
        return await user_view(ctx, user_id, refused.status, grant_error=refused.message)

    return await submit(ctx, add, again=again, conflict="grant",
                        done=lambda _: f"/admin/users/{user_id}?notice=grant-added#grants")


async def grant_remove(ctx: Page) -> Response:
    user_id = path_id(ctx)
    grant = choice(f"{ctx.field('role')}:{ctx.field('division')}", "grant")
    return await act(
        ctx, lambda conn: ctx.runtime.users(conn).revoke(ctx.signed_in, user_id, grant),
        f"/admin/users/{user_id}?notice=grant-removed#grants")
