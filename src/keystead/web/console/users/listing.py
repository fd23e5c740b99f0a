"""The users list (search, pages) and the Add-user form."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.governance.notices import EMAIL
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.domain.users import User
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page
from keystead.web.console.users.grants import choice
from keystead.web.console.users.view import grant_options, render

PAGE_SIZE = 25
MAX_PAGE = 1_000_000
MAX_QUERY = 320  # the longest e-mail: a longer search can match nothing
INVITE, PASSWORD = "invite", "password"  # the Add-user form's two methods


async def users_list(ctx: Page) -> Response:
    caller = ctx.signed_in
    query = ctx.request.query_params.get("q", "").replace("\x00", "").strip()[:MAX_QUERY]
    raw_page = ctx.request.query_params.get("page", "1")
    whole = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= len(str(MAX_PAGE))
    number = min(max(int(raw_page) if whole else 1, 1), MAX_PAGE)
    async with ctx.transaction() as conn:
        found, total = await ctx.runtime.users(conn).search(caller, query or None,
                                                            Paging(number, PAGE_SIZE))
    pages = max(1, -(-total // PAGE_SIZE))
    return render(ctx, "people/users.html", users=found, total=total, q=query,
                  page_number=number, page_count=pages)


async def user_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.DIRECTORY_USER_ADD)
    return await new_user_page(ctx, values={"name": "", "email": "", "grant": "",
                                            "method": INVITE})


async def new_user_page(ctx: Page, status: int = 200, *, values: dict[str, str],
                        errors: Mapping[str, str] | None = None) -> Response:
    """The Add-user form: invite by e-mail (the default), or set a password now."""
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        choices = await ctx.runtime.roles(conn).grant_choices(caller) if caller.has_permission(
            Permission.AUTHORIZATION_GRANT_ADD) else None
    email = EMAIL in ctx.runtime.outbox_sender.channels
    if not email:
        values = {**values, "method": PASSWORD}
    return render(ctx, "people/user_new.html", status, values=values, errors=errors or {},
                  can_email=email, ttl_hours=ctx.runtime.settings.invite_ttl_hours,
                  options=grant_options(caller, choices.roles, choices.divisions, frozenset())
                  if choices else None)


async def user_create(ctx: Page) -> Response:
    password = ctx.field("password") or None
    # The form always says; a post that does not (a script) keeps the old meaning.
    default = PASSWORD if password or EMAIL not in ctx.runtime.outbox_sender.channels \
        else INVITE
    values = {"name": ctx.field("name"), "email": ctx.field("email"),
              "grant": ctx.field("grant"), "method": ctx.field("method") or default}

    async def create(conn: AsyncConnection) -> User:
        grants = [choice(values["grant"], "grant")] if values["grant"] else []
        if values["method"] != PASSWORD:
            return await ctx.runtime.invitations(conn).invite(
                ctx.signed_in, name=values["name"], email=values["email"], grants=grants)
        users = ctx.runtime.users(conn)
        user = await users.create(ctx.signed_in, name=values["name"], email=values["email"],
                                  password=password)
        for grant in grants:
            await users.grant(ctx.signed_in, user.id, grant)
        return user

    async def again(refused: Refused) -> Response:
        return await new_user_page(ctx, refused.status, values=values, errors=refused.errors)

    notice = "user-created" if values["method"] == PASSWORD else "user-invited"
    return await submit(ctx, create, again=again, conflict="email",
                        done=lambda user: f"/admin/users/{user.id}?notice={notice}")
