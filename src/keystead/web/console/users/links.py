"""A user's links to trusted identity providers (the NameID each provider knows them by)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError, NotFoundError
from keystead.web.console.forms import Refused, act, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.console.users.view import user_view


async def idp_link(ctx: Page) -> Response:
    user_id = path_id(ctx)
    values = {"provider": ctx.field("provider"), "nameId": ctx.field("nameId")}

    async def link(conn: AsyncConnection) -> None:
        if not values["provider"] or "\x00" in values["provider"]:
            raise InvalidInputError.one("provider", "required", "choose an identity provider")
        await ctx.runtime.identity_links(conn).link(ctx.signed_in, user_id,
                                                    values["provider"], values["nameId"])

    async def again(refused: Refused) -> Response:
        return await user_view(ctx, user_id, refused.status, link_values=values,
                               link_error=refused.message)

    return await submit(
        ctx, link, again=again, conflict="provider",
        done=lambda _: f"/admin/users/{user_id}?notice=idp-linked#identity-providers")


async def idp_unlink(ctx: Page) -> Response:
    user_id = path_id(ctx)
    provider_id = ctx.field("provider")
    if "\x00" in provider_id:
        raise NotFoundError("no such identity provider")
    return await act(
        ctx, lambda conn: ctx.runtime.identity_links(conn).unlink(ctx.signed_in, user_id,
                                                                  provider_id),
        f"/admin/users/{user_id}?notice=idp-unlinked#identity-providers")
