"""Console pages for people and the organisation: users and their role grants, roles, divisions
and scopes.

Every change goes through the use cases the API calls (``UserManagement``, ``RoleManagement``,
``DivisionManagement``, ``ScopeManagement``), so it obeys the same rules and is audited with the
signed-in user as its actor. Refusals for want of a permission become the audited 403 page
(``pages.page``); a broken rule re-renders the form with each message next to its field, keeping
what was typed (never a password); a conflict (a name taken, something in use) says why beside
the form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audiences import management_api
from keystead.domain.clients import RoleDivision
from keystead.domain.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from keystead.domain.organization import Division, Role
from keystead.domain.paging import Page as Paging
from keystead.domain.passwords import MIN_LENGTH
from keystead.domain.permissions import CATALOGUE, Permission
from keystead.domain.principal import Caller
from keystead.domain.scopes import UNCHANGED
from keystead.domain.users import UserManagement, UserState
from keystead.web.console.pages import Page, redirect, route

PAGE_SIZE = 25
MAX_PROVIDERS = 500  # offered on a user's page to link; organisations have a handful
MAX_PAGE = 1_000_000
MAX_QUERY = 320  # the longest e-mail: a longer search can match nothing
# Notices a redirect may ask for: fixed texts, so no request can inject one.
NOTICES = {
    "user-created": "User created.",
    "user-saved": "Changes saved.",
    "user-deleted": "User deleted.",
    "grant-added": "Role granted.",
    "grant-removed": "Role removed.",
    "mfa-reset": "Two-step verification reset: the user sets it up again at their next sign-in.",
    "idp-linked": "Identity provider linked.",
    "idp-unlinked": "Identity provider unlinked.",
    "role-created": "Role created.",
    "role-saved": "Changes saved.",
    "role-deleted": "Role deleted.",
    "division-created": "Division created.",
    "division-saved": "Changes saved.",
    "division-deleted": "Division deleted.",
    "scope-created": "Scope created.",
    "scope-saved": "Changes saved.",
    "scope-deleted": "Scope deleted.",
}


# -- shared helpers


def _users(ctx: Page, conn: AsyncConnection) -> UserManagement:
    return ctx.runtime.users(conn)




def _render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    ctx.notices.update(NOTICES)
    return ctx.render(template, status, when=when, min_password=MIN_LENGTH, **context)


def when(value: datetime | None) -> str:
    """A time as people read it (UTC), or an empty string."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _path_id(ctx: Page, name: str = "id") -> str:
    """An id from the URL. Raises: NotFoundError (NUL: no id holds it, PostgreSQL cannot)."""
    value = str(ctx.request.path_params[name])
    if "\x00" in value:
        raise NotFoundError("no such entity")
    return value


def _form_errors(problems: Sequence[Problem]) -> dict[str, str]:
    """Each field's first problem, under the form field's name."""
    errors: dict[str, str] = {}
    for problem in problems:
        name = "permissions" if problem.field.startswith("permissionPolicies") else problem.field
        errors.setdefault(name, _sentence(problem.message))
    return errors


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _choice(value: str, field: str) -> RoleDivision:
    """A "<roleId>:<divisionId>" pair from a form.

    Raises:
        InvalidInputError: not such a pair.
    """
    role_id, _, division_id = value.partition(":")
    if not role_id or not division_id or "\x00" in value:
        raise InvalidInputError.one(field, "invalid.value", "choose a role and a division")
    return RoleDivision(role_id, division_id)


# -- users


async def users_list(ctx: Page) -> Response:
    caller = ctx.signed_in
    query = ctx.request.query_params.get("q", "").replace("\x00", "").strip()[:MAX_QUERY]
    raw_page = ctx.request.query_params.get("page", "1")
    whole = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= len(str(MAX_PAGE))
    number = min(max(int(raw_page) if whole else 1, 1), MAX_PAGE)
    async with ctx.transaction() as conn:
        found, total = await _users(ctx, conn).search(caller, query or None,
                                                      Paging(number, PAGE_SIZE))
    pages = max(1, -(-total // PAGE_SIZE))
    return _render(ctx, "people/users.html", users=found, total=total, q=query,
                   page_number=number, page_count=pages)


async def user_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.DIRECTORY_USER_ADD)
    return _render(ctx, "people/user_new.html", values={"name": "", "email": ""}, errors={})


async def user_create(ctx: Page) -> Response:
    values = {"name": ctx.field("name"), "email": ctx.field("email")}
    password = ctx.field("password")
    try:
        async with ctx.transaction() as conn:
            user = await _users(ctx, conn).create(ctx.signed_in, name=values["name"],
                                                  email=values["email"],
                                                  password=password or None)
    except InvalidInputError as exc:
        return _render(ctx, "people/user_new.html", 400, values=values,
                       errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _render(ctx, "people/user_new.html", 409, values=values,
                       errors={"email": _sentence(exc.message)})
    return redirect(f"/admin/users/{user.id}?notice=user-created")


async def _user_page(ctx: Page, user_id: str, status: int = 200, *,
                     values: Mapping[str, str] | None = None,
                     errors: Mapping[str, str] | None = None,
                     grant_error: str = "", link_values: Mapping[str, str] | None = None,
                     link_error: str = "") -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        users = _users(ctx, conn)
        account = await users.find(caller, user_id)
        links = await ctx.runtime.identity_links(conn).links_of(caller, user_id)
        may_link = (caller.has_permission(Permission.DIRECTORY_USER_EDIT)
                    and caller.has_permission(Permission.SSO_PROVIDER_VIEW)
                    and account.id != caller.actor.id)
        providers = (await ctx.runtime.identity_providers(conn).list(
            caller, Paging(1, MAX_PROVIDERS)))[0] if may_link else []
        grants = await users.grants_of(caller, user_id) if (
            caller.has_permission(Permission.AUTHORIZATION_GRANT_VIEW) or user_id == caller.actor.id
        ) else None
        choices = await ctx.runtime.roles(conn).grant_choices(caller) if any(
            caller.has_permission(f"authorization:grant:{a}") for a in ("view", "add", "delete")
        ) else None
    role_names = {r.id: r.name for r in choices.roles} if choices else {}
    division_names = {d.id: d.name for d in choices.divisions} if choices else {}
    held = frozenset(grants or ())
    return _render(
        ctx, "people/user.html", status, account=account,
        values=values or {"name": account.name, "email": account.email,
                          "state": account.state},
        errors=errors or {}, grant_error=grant_error, states=list(UserState),
        is_self=account.id == caller.actor.id,
        can_edit=(caller.has_permission(Permission.DIRECTORY_USER_EDIT)
                  or account.id == caller.actor.id),
        grants=None if grants is None else [
            _grant_row(caller, g, role_names, division_names) for g in grants],
        options=_grant_options(caller, choices.roles, choices.divisions, held)
        if choices and caller.has_permission(Permission.AUTHORIZATION_GRANT_ADD) else None,
        links=[{"provider_id": p.id, "provider": p.settings.name, "name_id": link.name_id,
                "created": link.date_created} for link, p in links],
        may_unlink=caller.has_permission(Permission.DIRECTORY_USER_EDIT),
        link_providers=[{"id": p.id, "name": p.settings.name} for p in providers]
        if may_link else None,
        link_values=link_values or {"provider": "", "nameId": account.email},
        link_error=link_error)


def _grant_row(caller: Caller, grant: RoleDivision, role_names: Mapping[str, str],
               division_names: Mapping[str, str]) -> dict[str, Any]:
    return {"role_id": grant.role_id, "division_id": grant.division_id,
            "role": role_names.get(grant.role_id, grant.role_id),
            "division": division_names.get(grant.division_id, grant.division_id),
            "removable": caller.has_permission(Permission.AUTHORIZATION_GRANT_DELETE)
            and not caller.missing_roles([grant])}


def _grant_options(caller: Caller, roles: Sequence[Role], divisions: Sequence[Division],
                   held: frozenset[RoleDivision]) -> list[dict[str, Any]]:
    """Every role in every division; those the caller may not give (or the user has) disabled."""
    options = []
    for role in roles:
        for division in divisions:
            pair = RoleDivision(role.id, division.id)
            label, disabled = f"{role.name} — {division.name}", True
            if caller.missing_roles([pair]):
                label += " (you don't hold this role)"
            elif pair in held:
                label += " (already granted)"
            else:
                disabled = False
            options.append({"value": f"{role.id}:{division.id}", "label": label,
                            "disabled": disabled})
    return options


async def user_page(ctx: Page) -> Response:
    return await _user_page(ctx, _path_id(ctx))


async def user_update(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    values = {"name": ctx.field("name"), "email": ctx.field("email"),
              "state": ctx.field("state")}
    password = ctx.field("password")
    try:
        async with ctx.transaction() as conn:
            await _users(ctx, conn).update(ctx.signed_in, user_id, name=values["name"],
                                           email=values["email"], state=values["state"],
                                           password=password or None,
                                           current_password=ctx.field("currentPassword") or None)
    except InvalidInputError as exc:
        return await _user_page(ctx, user_id, 400, values=values,
                                errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return await _user_page(ctx, user_id, 409, values=values,
                                errors={"email": _sentence(exc.message)})
    return redirect(f"/admin/users/{user_id}?notice=user-saved")


async def grant_add(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    try:
        grant = _choice(ctx.field("grant"), "grant")
        async with ctx.transaction() as conn:
            await _users(ctx, conn).grant(ctx.signed_in, user_id, grant)
    except InvalidInputError as exc:
        return await _user_page(ctx, user_id, 400, grant_error=_sentence(exc.problems[0].message))
    except ConflictError as exc:
        return await _user_page(ctx, user_id, 409, grant_error=_sentence(exc.message))
    return redirect(f"/admin/users/{user_id}?notice=grant-added#grants")


async def grant_remove(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    grant = _choice(f"{ctx.field('role')}:{ctx.field('division')}", "grant")
    async with ctx.transaction() as conn:
        await _users(ctx, conn).revoke(ctx.signed_in, user_id, grant)
    return redirect(f"/admin/users/{user_id}?notice=grant-removed#grants")


async def idp_link(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    values = {"provider": ctx.field("provider"), "nameId": ctx.field("nameId")}
    try:
        if not values["provider"] or "\x00" in values["provider"]:
            raise InvalidInputError.one("provider", "required", "choose an identity provider")
        async with ctx.transaction() as conn:
            await ctx.runtime.identity_links(conn).link(ctx.signed_in, user_id,
                                                        values["provider"], values["nameId"])
    except InvalidInputError as exc:
        return await _user_page(ctx, user_id, 400, link_values=values,
                                link_error=_sentence(exc.problems[0].message))
    except ConflictError as exc:
        return await _user_page(ctx, user_id, 409, link_values=values,
                                link_error=_sentence(exc.message))
    return redirect(f"/admin/users/{user_id}?notice=idp-linked#identity-providers")


async def idp_unlink(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    provider_id = ctx.field("provider")
    if "\x00" in provider_id:
        raise NotFoundError("no such identity provider")
    async with ctx.transaction() as conn:
        await ctx.runtime.identity_links(conn).unlink(ctx.signed_in, user_id, provider_id)
    return redirect(f"/admin/users/{user_id}?notice=idp-unlinked#identity-providers")


async def mfa_reset(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    async with ctx.transaction() as conn:
        await _users(ctx, conn).reset_mfa(ctx.signed_in, user_id)
    return redirect(f"/admin/users/{user_id}?notice=mfa-reset")


async def user_delete(ctx: Page) -> Response:
    user_id = _path_id(ctx)
    async with ctx.transaction() as conn:
        await _users(ctx, conn).delete(ctx.signed_in, user_id)
    return redirect("/admin/users?notice=user-deleted")


# -- roles


def _permission_groups(role: Role | None, caller: Caller,
                       checked: Sequence[str]) -> list[dict[str, Any]]:
    """The catalogue as checkbox groups, one per domain; then any other pattern the role has."""
    held = set(checked)
    groups: list[dict[str, Any]] = []
    for domain, entities in CATALOGUE.items():
        boxes: list[dict[str, Any]] = []
        for entity, actions in entities.items():
            for action in ("*", *actions):
                value = f"{domain}:{entity}:{action}"
                boxes.append({"value": value, "id": "perm-" + value.replace(":", "-").replace(
                    "*", "all"), "label": f"{entity}: {'all actions' if action == '*' else action}",
                    "checked": value in held, "allowed": caller.has_permission(value)})
        groups.append({"name": domain, "boxes": boxes})
    listed = {box["value"] for group in groups for box in group["boxes"]}
    # Patterns the catalogue boxes cannot show (``*:*:*`` on Super Admin, ``oauth:*:*``...).
    others = [p for p in (role.permissions if role else ()) if p not in listed]
    if others:
        groups.append({"name": "other patterns", "boxes": [
            {"value": p, "id": f"perm-other-{index}",
             "label": "every permission" if p == "*:*:*" else "pattern", "checked": p in held,
             "allowed": caller.has_permission(p)} for index, p in enumerate(others)]})
    return groups


def _role_form(ctx: Page, role: Role | None, status: int = 200, *,
               values: Mapping[str, str] | None = None, checked: Sequence[str] | None = None,
               errors: Mapping[str, str] | None = None, delete_error: str = "") -> Response:
    caller = ctx.signed_in
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
    return _render(
        ctx, "people/role.html", status, role=role, reason=reason, deletable=not beyond,
        values=values or {"name": role.name if role else "",
                          "description": role.description if role else ""},
        groups=_permission_groups(role, caller, permissions), errors=errors or {},
        delete_error=delete_error)


async def roles_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        roles = await ctx.runtime.roles(conn).list(ctx.signed_in)
    return _render(ctx, "people/roles.html", roles=roles)


async def role_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.AUTHORIZATION_ROLE_ADD)
    return _role_form(ctx, None)


async def role_create(ctx: Page) -> Response:
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    checked = ctx.fields("permissions")
    try:
        async with ctx.transaction() as conn:
            role = await ctx.runtime.roles(conn).create(ctx.signed_in, name=values["name"],
                                                     description=values["description"],
                                                     permissions=checked)
    except InvalidInputError as exc:
        return _role_form(ctx, None, 400, values=values, checked=checked,
                          errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _role_form(ctx, None, 409, values=values, checked=checked,
                          errors={"name": _sentence(exc.message)})
    return redirect(f"/admin/roles/{role.id}?notice=role-created")


async def _find_role(ctx: Page, role_id: str) -> Role:
    async with ctx.transaction() as conn:
        return await ctx.runtime.roles(conn).find(ctx.signed_in, role_id)


async def role_page(ctx: Page) -> Response:
    return _role_form(ctx, await _find_role(ctx, _path_id(ctx)))


async def role_update(ctx: Page) -> Response:
    role_id = _path_id(ctx)
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    checked = ctx.fields("permissions")
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.roles(conn).update(ctx.signed_in, role_id, name=values["name"],
                                              description=values["description"],
                                              permissions=checked)
    except InvalidInputError as exc:
        return _role_form(ctx, await _find_role(ctx, role_id), 400, values=values,
                          checked=checked, errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _role_form(ctx, await _find_role(ctx, role_id), 409, values=values,
                          checked=checked, errors={"name": _sentence(exc.message)})
    return redirect(f"/admin/roles/{role_id}?notice=role-saved")


async def role_delete(ctx: Page) -> Response:
    role_id = _path_id(ctx)
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.roles(conn).delete(ctx.signed_in, role_id)
    except ConflictError as exc:
        return _role_form(ctx, await _find_role(ctx, role_id), 409,
                          delete_error=_sentence(exc.message))
    return redirect("/admin/roles?notice=role-deleted")


# -- divisions


def _division_form(ctx: Page, division: Division | None, status: int = 200, *,
                   values: Mapping[str, str] | None = None,
                   errors: Mapping[str, str] | None = None, delete_error: str = "") -> Response:
    return _render(
        ctx, "people/division.html", status, division=division,
        values=values or {"name": division.name if division else "",
                          "description": division.description if division else ""},
        errors=errors or {}, delete_error=delete_error)


async def divisions_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        divisions = await ctx.runtime.divisions(conn).list(ctx.signed_in)
    return _render(ctx, "people/divisions.html", divisions=divisions)


async def division_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.AUTHORIZATION_DIVISION_ADD)
    return _division_form(ctx, None)


async def division_create(ctx: Page) -> Response:
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    try:
        async with ctx.transaction() as conn:
            division = await ctx.runtime.divisions(conn).create(
                ctx.signed_in, name=values["name"], description=values["description"])
    except InvalidInputError as exc:
        return _division_form(ctx, None, 400, values=values, errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _division_form(ctx, None, 409, values=values,
                              errors={"name": _sentence(exc.message)})
    return redirect(f"/admin/divisions/{division.id}?notice=division-created")


async def _find_division(ctx: Page, division_id: str) -> Division:
    async with ctx.transaction() as conn:
        return await ctx.runtime.divisions(conn).find(ctx.signed_in, division_id)


async def division_page(ctx: Page) -> Response:
    return _division_form(ctx, await _find_division(ctx, _path_id(ctx)))


async def division_update(ctx: Page) -> Response:
    division_id = _path_id(ctx)
    values = {"name": ctx.field("name"), "description": ctx.field("description")}
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.divisions(conn).update(ctx.signed_in, division_id,
                                                  name=values["name"],
                                                  description=values["description"])
    except InvalidInputError as exc:
        return _division_form(ctx, await _find_division(ctx, division_id), 400, values=values,
                              errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _division_form(ctx, await _find_division(ctx, division_id), 409, values=values,
                              errors={"name": _sentence(exc.message)})
    return redirect(f"/admin/divisions/{division_id}?notice=division-saved")


async def division_delete(ctx: Page) -> Response:
    division_id = _path_id(ctx)
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.divisions(conn).delete(ctx.signed_in, division_id)
    except ConflictError as exc:
        return _division_form(ctx, await _find_division(ctx, division_id), 409,
                              delete_error=_sentence(exc.message))
    return redirect("/admin/divisions?notice=division-deleted")


# -- scopes (an id may hold "/": its page's forms post back to its own URL, with an intent)


async def scopes_list(ctx: Page) -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        scopes = ctx.runtime.scopes(conn)
        rows = [{"scope": scope, "url": f"/admin/scopes/{_quote(scope.id)}",
                 "holders": await scopes.count_holders(caller, scope.id)}
                for scope in await scopes.list(caller)]
    return _render(ctx, "people/scopes.html", rows=rows)


async def scope_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.OAUTH_SCOPE_ADD)
    return _render(ctx, "people/scope_new.html",
                   values={"id": "", "description": "", "resourceServer": ""}, errors={})


async def scope_create(ctx: Page) -> Response:
    values = {"id": ctx.field("id"), "description": ctx.field("description"),
              "resourceServer": ctx.field("resourceServer").strip()}
    try:
        async with ctx.transaction() as conn:
            scope = await ctx.runtime.scopes(conn).create(
                ctx.signed_in, scope_id=values["id"], description=values["description"],
                resource_server=values["resourceServer"] or None)
    except InvalidInputError as exc:
        return _render(ctx, "people/scope_new.html", 400, values=values,
                       errors=_form_errors(exc.problems))
    except ConflictError as exc:
        return _render(ctx, "people/scope_new.html", 409, values=values,
                       errors={"id": _sentence(exc.message)})
    return redirect(f"/admin/scopes/{_quote(scope.id)}?notice=scope-created")


def _quote(scope_id: str) -> str:
    return quote(scope_id, safe="")


async def _scope_page(ctx: Page, scope_id: str, status: int = 200, *,
                      values: Mapping[str, str] | None = None,
                      errors: Mapping[str, str] | None = None,
                      delete_error: str = "") -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        scopes = ctx.runtime.scopes(conn)
        scope = await scopes.find(caller, scope_id)
        holders = await scopes.count_holders(caller, scope_id)
    return _render(ctx, "people/scope.html", status, scope=scope, holders=holders,
                   url=f"/admin/scopes/{_quote(scope.id)}",
                   management_api=management_api(ctx.runtime.tokens.issuer),
                   values=values or {"description": scope.description,
                                     "resourceServer": scope.resource_server or ""},
                   errors=errors or {}, delete_error=delete_error)


async def scope_page(ctx: Page) -> Response:
    return await _scope_page(ctx, _path_id(ctx))


async def scope_change(ctx: Page) -> Response:
    scope_id = _path_id(ctx)
    if ctx.field("intent") == "delete":
        try:
            async with ctx.transaction() as conn:
                await ctx.runtime.scopes(conn).delete(ctx.signed_in, scope_id)
        except ConflictError as exc:
            return await _scope_page(ctx, scope_id, 409, delete_error=_sentence(exc.message))
        return redirect("/admin/scopes?notice=scope-deleted")
    values = {"description": ctx.field("description"),
              "resourceServer": ctx.field("resourceServer").strip()}
    # A built-in scope's page has no resource server field: leave it as it is.
    has_server = ctx.form is not None and "resourceServer" in ctx.form
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.scopes(conn).update(
                ctx.signed_in, scope_id, description=values["description"],
                resource_server=(values["resourceServer"] or None) if has_server else UNCHANGED)
    except InvalidInputError as exc:
        return await _scope_page(ctx, scope_id, 400, values=values,
                                 errors=_form_errors(exc.problems))
    return redirect(f"/admin/scopes/{_quote(scope_id)}?notice=scope-saved")


routes: list[Route] = [
    route("/admin/users", users_list),
    route("/admin/users/new", user_new_form),
    route("/admin/users/new", user_create, methods=("POST",)),
    route("/admin/users/{id}", user_page),
    route("/admin/users/{id}", user_update, methods=("POST",)),
    route("/admin/users/{id}/grants", grant_add, methods=("POST",)),
    route("/admin/users/{id}/grants/remove", grant_remove, methods=("POST",)),
    route("/admin/users/{id}/mfa/reset", mfa_reset, methods=("POST",)),
    route("/admin/users/{id}/identity-providers", idp_link, methods=("POST",)),
    route("/admin/users/{id}/identity-providers/remove", idp_unlink, methods=("POST",)),
    route("/admin/users/{id}/delete", user_delete, methods=("POST",)),
    route("/admin/roles", roles_list),
    route("/admin/roles/new", role_new_form),
    route("/admin/roles/new", role_create, methods=("POST",)),
    route("/admin/roles/{id}", role_page),
    route("/admin/roles/{id}", role_update, methods=("POST",)),
    route("/admin/roles/{id}/delete", role_delete, methods=("POST",)),
    route("/admin/divisions", divisions_list),
    route("/admin/divisions/new", division_new_form),
    route("/admin/divisions/new", division_create, methods=("POST",)),
    route("/admin/divisions/{id}", division_page),
    route("/admin/divisions/{id}", division_update, methods=("POST",)),
    route("/admin/divisions/{id}/delete", division_delete, methods=("POST",)),
    route("/admin/scopes", scopes_list),
    route("/admin/scopes/new", scope_new_form),
    route("/admin/scopes/new", scope_create, methods=("POST",)),
    route("/admin/scopes/{id:path}", scope_page),
    route("/admin/scopes/{id:path}", scope_change, methods=("POST",)),
]
