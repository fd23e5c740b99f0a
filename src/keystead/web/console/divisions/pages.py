"""The divisions list, the Add-division form and a division's page."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.organization import Division
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id

NOTICES = {
    "division-created": "Division created.",
    "division-saved": "Changes saved.",
    "division-deleted": "Division deleted.",
}


async def division_view(ctx: Page, division_id: str | None, status: int = 200, *,
                        values: Mapping[str, str] | None = None,
                        errors: Mapping[str, str] | None = None,
                        delete_error: str = "") -> Response:
    """The division's page (the Add-division form when ``division_id`` is None)."""
    division = None
    if division_id is not None:
        async with ctx.transaction() as conn:
            division = await ctx.runtime.organization(conn).find_division(ctx.signed_in,
                                                                          division_id)
    ctx.notices.update(NOTICES)
    return ctx.render(
        "people/division.html", status, division=division,
        values=values or {"name": division.name if division else "",
                          "description": division.description if division else ""},
        errors=errors or {}, delete_error=delete_error)


async def divisions_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        divisions = await ctx.runtime.organization(conn).list_divisions(ctx.signed_in)
    ctx.notices.update(NOTICES)
    return ctx.render("people/divisions.html", divisions=divisions)


async def division_new_form(ctx: Page) -> Response:
    ctx.signed_in.require("authorization:division:add")
    return await division_view(ctx, None)


def _values(ctx: Page) -> dict[str, str]:
    return {"name": ctx.field("name"), "description": ctx.field("description")}


async def division_create(ctx: Page) -> Response:
    values = _values(ctx)

    async def create(conn: AsyncConnection) -> Division:
        return await ctx.runtime.organization(conn).create_division(
            ctx.signed_in, name=values["name"], description=values["description"])

    async def again(refused: Refused) -> Response:
        return await division_view(ctx, None, refused.status, values=values, errors=refused.errors)

    return await submit(
        ctx, create, again=again, conflict="name",
        done=lambda division: f"/admin/divisions/{division.id}?notice=division-created")


async def division_page(ctx: Page) -> Response:
    return await division_view(ctx, path_id(ctx))


async def division_update(ctx: Page) -> Response:
    division_id = path_id(ctx)
    values = _values(ctx)

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.organization(conn).update_division(
            ctx.signed_in, division_id, name=values["name"], description=values["description"])

    async def again(refused: Refused) -> Response:
        return await division_view(ctx, division_id, refused.status, values=values,
                                   errors=refused.errors)

    return await submit(ctx, update, again=again, conflict="name",
                        done=lambda _: f"/admin/divisions/{division_id}?notice=division-saved")


async def division_delete(ctx: Page) -> Response:
    division_id = path_id(ctx)

    async def delete(conn: AsyncConnection) -> None:
        await ctx.runtime.organization(conn).delete_division(ctx.signed_in, division_id)

    async def again(refused: Refused) -> Response:
        return await division_view(ctx, division_id, refused.status, delete_error=refused.message)

    return await submit(ctx, delete, again=again, conflict="delete",
                        done=lambda _: "/admin/divisions?notice=division-deleted")
