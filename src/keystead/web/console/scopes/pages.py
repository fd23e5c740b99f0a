"""The scopes list, the Add-scope form and a scope's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.audiences import management_api
from keystead.domain.organization import Scope
from keystead.domain.permissions import Permission
from keystead.domain.scopes import UNCHANGED
from keystead.web.console.forms import SHOWN, Refused, submit
from keystead.web.console.pages import Page, path_id

NOTICES = {
    "scope-created": "Scope created.",
    "scope-saved": "Changes saved.",
    "scope-deleted": "Scope deleted.",
}


def _render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    return ctx.render_with(NOTICES, template, status, **context)


def _url(scope_id: str) -> str:
    return f"/admin/scopes/{quote(scope_id, safe='')}"


async def scopes_list(ctx: Page) -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        org = ctx.runtime.scopes(conn)
        rows = [{"scope": scope, "url": _url(scope.id),
                 "holders": await org.count_holders(caller, scope.id)}
                for scope in await org.list(caller)]
    return _render(ctx, "people/scopes.html", rows=rows)


async def scope_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.OAUTH_SCOPE_ADD)
    return _render(ctx, "people/scope_new.html",
                   values={"id": "", "description": "", "resourceServer": ""}, errors={})


async def scope_create(ctx: Page) -> Response:
    values = {"id": ctx.field("id"), "description": ctx.field("description"),
              "resourceServer": ctx.field("resourceServer").strip()}

    async def create(conn: AsyncConnection) -> Scope:
        return await ctx.runtime.scopes(conn).create(
            ctx.signed_in, scope_id=values["id"], description=values["description"],
            resource_server=values["resourceServer"] or None)

    async def again(refused: Refused) -> Response:
        return _render(ctx, "people/scope_new.html", refused.status, values=values,
                       errors=refused.errors)

    return await submit(ctx, create, again=again, conflict="id",
                        done=lambda scope: f"{_url(scope.id)}?notice=scope-created")


async def _scope_view(ctx: Page, scope_id: str, refused: Refused = SHOWN, *,
                      values: Mapping[str, str] | None = None) -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        org = ctx.runtime.scopes(conn)
        scope = await org.find(caller, scope_id)
        holders = await org.count_holders(caller, scope_id)
    errors, delete_error = refused.apart("delete")
    return _render(ctx, "people/scope.html", refused.status, scope=scope, holders=holders,
                   url=_url(scope.id), management_api=management_api(ctx.runtime.tokens.issuer),
                   values=values or {"description": scope.description,
                                     "resourceServer": scope.resource_server or ""},
                   errors=errors, delete_error=delete_error)


async def scope_page(ctx: Page) -> Response:
    return await _scope_view(ctx, path_id(ctx))


async def scope_change(ctx: Page) -> Response:
    """Change the scope, or (``intent=delete``) delete it: both forms post to its address."""
    scope_id = path_id(ctx)  # never NUL: the route's convertor checked it
    if ctx.field("intent") == "delete":
        return await submit(
            ctx, lambda conn: ctx.runtime.scopes(conn).delete(ctx.signed_in,
                                                                          scope_id),
            again=lambda refused: _scope_view(ctx, scope_id, refused), conflict="delete",
            done=lambda _: "/admin/scopes?notice=scope-deleted")
    values = {"description": ctx.field("description"),
              "resourceServer": ctx.field("resourceServer").strip()}
    # A built-in scope's page has no resource server field: leave it as it is.
    has_server = ctx.form is not None and "resourceServer" in ctx.form

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.scopes(conn).update(
            ctx.signed_in, scope_id, description=values["description"],
            resource_server=(values["resourceServer"] or None) if has_server else UNCHANGED)

    return await submit(ctx, update, done=lambda _: f"{_url(scope_id)}?notice=scope-saved",
                        again=lambda refused: _scope_view(ctx, scope_id, refused, values=values))
