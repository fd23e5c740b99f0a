"""The roles list, the Add-role form and a role's page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.permissions import Permission
from keystead.web.console.forms import SHOWN, Refused, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.console.roles.permissions import permission_groups

NOTICES = {
    "role-created": "Role created.",
    "role-saved": "Changes saved.",
    "role-deleted": "Role deleted.",
}


async def role_view(ctx: Page, role_id: str | None, refused: Refused = SHOWN, *,
                    values: Mapping[str, str] | None = None,
                    checked: Sequence[str] | None = None) -> Response:
    """The role's page (the Add-role form when ``role_id`` is None)."""
    caller = ctx.signed_in
    role = None
    if role_id is not None:
        async with ctx.transaction() as conn:
            role = await ctx.runtime.roles(conn).find(caller, role_id)
    permissions = list(checked if checked is not None else (role.permissions if role else ()))
    beyond = caller.lacks(role.permissions) if role is not None else []
    reason = ""
    if role is not None and role.builtin:
        reason = "Built-in roles cannot be changed or deleted."
    elif beyond:
        reason = ("This role grants permissions you do not hold (" + ", ".join(beyond)
                  + "), so only an admin who holds them may change or delete it.")
    elif role is not None and not caller.has_permission(Permission.AUTHORIZATION_ROLE_EDIT):
        reason = "You may view this role but not change it."
    errors, delete_error = refused.apart("delete")
    return ctx.render_with(
        NOTICES, "people/role.html", refused.status, role=role, reason=reason,
        deletable=not beyond,
        values=values or {"name": role.name if role else "",
                          "description": role.description if role else ""},
        groups=permission_groups(role, caller, permissions), errors=errors,
        delete_error=delete_error)


async def roles_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        roles = await ctx.runtime.roles(conn).list(ctx.signed_in)
    return ctx.render_with(NOTICES, "people/roles.html", roles=roles)


async def role_save(ctx: Page, role_id: str | None) -> Response:
    """Create a role (``role_id`` None) or change it, from the form."""
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    checked = ctx.fields("permissions")

    async def save(conn: AsyncConnection) -> str:
        org = ctx.runtime.roles(conn)
        name, description = values["name"], values["description"]
        if role_id is None:
            role = await org.create(ctx.signed_in, name=name, description=description,
                                    permissions=checked)
            return f"{role.id}?notice=role-created"
        await org.update(ctx.signed_in, role_id, name=name, description=description,
                         permissions=checked)
        return f"{role_id}?notice=role-saved"

    return await submit(
        ctx, save, conflict="name", done=lambda target: f"/admin/roles/{target}",
        again=lambda refused: role_view(ctx, role_id, refused, values=values, checked=checked))


async def role_delete(ctx: Page) -> Response:
    role_id = path_id(ctx)
    return await submit(
        ctx, lambda conn: ctx.runtime.roles(conn).delete(ctx.signed_in, role_id),
        again=lambda refused: role_view(ctx, role_id, refused), conflict="delete",
        done=lambda _: "/admin/roles?notice=role-deleted")
