"""The roles list, the Add-role form and a role's page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.organization import Role
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.console.roles.permissions import permission_groups

NOTICES = {
    "role-created": "Role created.",
    "role-saved": "Changes saved.",
    "role-deleted": "Role deleted.",
}


async def role_view(ctx: Page, role_id: str | None, status: int = 200, *,
                    values: Mapping[str, str] | None = None,
                    checked: Sequence[str] | None = None,
                    errors: Mapping[str, str] | None = None, delete_error: str = "") -> Response:
    """The role's page (the Add-role form when ``role_id`` is None)."""
    caller = ctx.signed_in
    role = None
    if role_id is not None:
        async with ctx.transaction() as conn:
            role = await ctx.runtime.organization(conn).find_role(caller, role_id)
    permissions = list(checked if checked is not None else (role.permissions if role else ()))
    beyond = caller.lacks(role.permissions) if role is not None else []
    reason = ""
    if role is not None and role.builtin:
        reason = "Built-in roles cannot be changed or deleted."
    elif beyond:
        reason = ("This role grants permissions you do not hold (" + ", ".join(beyond)
                  + "), so only an admin who holds them may change or delete it.")
    elif role is not None and not caller.has_permission("authorization:role:edit"):
        reason = "You may view this role but not change it."
    ctx.notices.update(NOTICES)
    return ctx.render(
        "people/role.html", status, role=role, reason=reason, deletable=not beyond,
        values=values or {"name": role.name if role else "",
                          "description": role.description if role else ""},
        groups=permission_groups(role, caller, permissions), errors=errors or {},
        delete_error=delete_error)


async def roles_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        roles = await ctx.runtime.organization(conn).list_roles(ctx.signed_in)
    ctx.notices.update(NOTICES)
    return ctx.render("people/roles.html", roles=roles)


async def role_new_form(ctx: Page) -> Response:
    ctx.signed_in.require("authorization:role:add")
    return await role_view(ctx, None)


async def role_create(ctx: Page) -> Response:
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    checked = ctx.fields("permissions")

    async def create(conn: AsyncConnection) -> Role:
        return await ctx.runtime.organization(conn).create_role(
            ctx.signed_in, name=values["name"], description=values["description"],
            permissions=checked)

    async def again(refused: Refused) -> Response:
        return await role_view(ctx, None, refused.status, values=values, checked=checked,
                               errors=refused.errors)

    return await submit(ctx, create, again=again, conflict="name",
                        done=lambda role: f"/admin/roles/{role.id}?notice=role-created")


async def role_page(ctx: Page) -> Response:
    return await role_view(ctx, path_id(ctx))


async def role_update(ctx: Page) -> Response:
    role_id = path_id(ctx)
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    checked = ctx.fields("permissions")

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.organization(conn).update_role(
            ctx.signed_in, role_id, name=values["name"], description=values["description"],
            permissions=checked)

    async def again(refused: Refused) -> Response:
        return await role_view(ctx, role_id, refused.status, values=values, checked=checked,
                               errors=refused.errors)

    return await submit(ctx, update, again=again, conflict="name",
                        done=lambda _: f"/admin/roles/{role_id}?notice=role-saved")


async def role_delete(ctx: Page) -> Response:
    role_id = path_id(ctx)

    async def delete(conn: AsyncConnection) -> None:
        await ctx.runtime.organization(conn).delete_role(ctx.signed_in, role_id)

    async def again(refused: Refused) -> Response:
        return await role_view(ctx, role_id, refused.status, delete_error=refused.message)

    return await submit(ctx, delete, again=again, conflict="delete",
                        done=lambda _: "/admin/roles?notice=role-deleted")
