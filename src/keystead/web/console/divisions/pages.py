"""The divisions list, the Add-division form and a division's page."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.web.console.forms import SHOWN, Refused, submit
from keystead.web.console.pages import Page, path_id

NOTICES = {
    "division-created": "Division created.",
    "division-saved": "Changes saved.",
    "division-deleted": "Division deleted.",
}


async def division_view(ctx: Page, division_id: str | None, refused: Refused = SHOWN, *,
                        values: Mapping[str, str] | None = None) -> Response:
    """The division's page (the Add-division form when ``division_id`` is None)."""
    division = None
    if division_id is not None:
        async with ctx.transaction() as conn:
            division = await ctx.runtime.divisions(conn).find(ctx.signed_in, division_id)
    errors, delete_error = refused.apart("delete")
    return ctx.render_with(
        NOTICES, "people/division.html", refused.status, division=division,
        values=values or {"name": division.name if division else "",
                          "description": division.description if division else ""},
        errors=errors, delete_error=delete_error)


async def divisions_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        divisions = await ctx.runtime.divisions(conn).list(ctx.signed_in)
    return ctx.render_with(NOTICES, "people/divisions.html", divisions=divisions)


async def division_save(ctx: Page, division_id: str | None) -> Response:
    """Create a division (``division_id`` None) or change it, from the form."""
    values = {"name": ctx.field("name"), "description": ctx.field("description")}

    async def save(conn: AsyncConnection) -> str:
        org = ctx.runtime.divisions(conn)
        name, description = values["name"], values["description"]
        if division_id is None:
            division = await org.create(ctx.signed_in, name=name, description=description)
            return f"{division.id}?notice=division-created"
        await org.update(ctx.signed_in, division_id, name=name, description=description)
        return f"{division_id}?notice=division-saved"

    return await submit(
        ctx, save, conflict="name", done=lambda target: f"/admin/divisions/{target}",
        again=lambda refused: division_view(ctx, division_id, refused, values=values))


async def division_delete(ctx: Page) -> Response:
    division_id = path_id(ctx)
    return await submit(
        ctx, lambda conn: ctx.runtime.divisions(conn).delete(ctx.signed_in, division_id),
        again=lambda refused: division_view(ctx, division_id, refused), conflict="delete",
        done=lambda _: "/admin/divisions?notice=division-deleted")
