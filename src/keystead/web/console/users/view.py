"""A user's page as shown (also again, with what was typed, when a form on it is refused)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

from keystead.domain.clients import RoleDivision
from keystead.domain.organization import Division, Role
from keystead.domain.paging import Page as Paging
from keystead.domain.passwords import MIN_LENGTH
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.users import UserState
from keystead.web.console.pages import Page

MAX_PROVIDERS = 500  # offered on a user's page to link; organisations have a handful
# Notices a redirect may ask for: fixed texts, so no request can inject one.
NOTICES = {
    "user-created": "User created.",
    "user-invited": "User added, and an invitation is on its way to their e-mail.",
    "invitation-sent": "A new invitation is on its way; the earlier link no longer works.",
    "invitation-revoked": "Invitation revoked: its link no longer works.",
    "user-saved": "Changes saved.",
    "user-deleted": "User deleted.",
    "grant-added": "Role granted.",
    "grant-removed": "Role removed.",
    "mfa-reset": "Two-step verification reset: the user sets it up again at their next sign-in.",
    "idp-linked": "Identity provider linked.",
    "idp-unlinked": "Identity provider unlinked.",
}


def render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    return ctx.render_with(NOTICES, template, status, min_password=MIN_LENGTH, **context)


async def user_view(ctx: Page, user_id: str, status: int = 200, *,
                    values: Mapping[str, str] | None = None,
                    errors: Mapping[str, str] | None = None,
                    grant_error: str = "", link_values: Mapping[str, str] | None = None,
                    link_error: str = "") -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        users = ctx.runtime.users(conn)
        account = await users.find(caller, user_id)
        links = await ctx.runtime.identity_links(conn).links_of(caller, user_id)
        invitation = await ctx.runtime.invitations(conn).pending(caller, user_id)
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
    return render(
        ctx, "people/user.html", status, account=account,
        values=values or {"name": account.name, "email": account.email,
                          "state": account.state},
        errors=errors or {}, grant_error=grant_error, states=list(UserState),
        invitation=invitation,
        is_self=account.id == caller.actor.id,
        can_edit=(caller.has_permission(Permission.DIRECTORY_USER_EDIT)
                  or account.id == caller.actor.id),
        grants=None if grants is None else [
            grant_row(caller, g, role_names, division_names) for g in grants],
        options=grant_options(caller, choices.roles, choices.divisions, held)
        if choices and caller.has_permission(Permission.AUTHORIZATION_GRANT_ADD) else None,
        links=[{"provider_id": p.id, "provider": p.settings.name, "name_id": link.name_id,
                "created": link.date_created} for link, p in links],
        may_unlink=caller.has_permission(Permission.DIRECTORY_USER_EDIT),
        link_providers=[{"id": p.id, "name": p.settings.name} for p in providers]
        if may_link else None,
        link_values=link_values or {"provider": "", "nameId": account.email},
        link_error=link_error)


def grant_row(caller: Caller, grant: RoleDivision, role_names: Mapping[str, str],
              division_names: Mapping[str, str]) -> dict[str, Any]:
    return {"role_id": grant.role_id, "division_id": grant.division_id,
            "role": role_names.get(grant.role_id, grant.role_id),
            "division": division_names.get(grant.division_id, grant.division_id),
            "removable": caller.has_permission(Permission.AUTHORIZATION_GRANT_DELETE)
            and not caller.missing_roles([grant])}


def grant_options(caller: Caller, roles: Sequence[Role], divisions: Sequence[Division],
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
