"""The users list (search, pages) and the Add-user form."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.domain.users import User
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page
from keystead.web.console.users.view import render

PAGE_SIZE = 25
MAX_PAGE = 1_000_000
MAX_QUERY = 320  # the longest e-mail: a longer search can match nothing


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
    return render(ctx, "people/user_new.html", values={"name": "", "email": ""}, errors={})


async def user_create(ctx: Page) -> Response:
    values = {"name": ctx.field("name"), "email": ctx.field("email")}
    password = ctx.field("password") or None

    async def create(conn: AsyncConnection) -> User:
        return await ctx.runtime.users(conn).create(ctx.signed_in, name=values["name"],
                                                    email=values["email"], password=password)

    async def again(refused: Refused) -> Response:
        return render(ctx, "people/user_new.html", refused.status, values=values,
                      errors=refused.errors)

    return await submit(ctx, create, again=again, conflict="email",
                        done=lambda user: f"/admin/users/{user.id}?notice=user-created")
