"""Editing a client's settings: the form the wizard's steps show, on one page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.clients import Client, GrantType
from keystead.domain.permissions import Permission
from keystead.web.console.clients.catalogue import ROLE_NOT_HELD, catalogue, grant_choices
from keystead.web.console.clients.checks import judge
from keystead.web.console.clients.detail import find_client
from keystead.web.console.clients.form import GENERAL, ClientForm, Errors
from keystead.web.console.clients.owners import ENVIRONMENTS, owner_choices
from keystead.web.console.clients.presenters import BASE, common, ttl_hint
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page


async def edit_form(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await render_edit(ctx, client, ClientForm.of(client.settings), Errors())


async def edit(ctx: Page) -> Response:
    client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
    form = ClientForm.posted(ctx)
    settings, errors = form.settings(client.settings)
    if errors:
        return await render_edit(ctx, client, form, await judge(ctx, form, client=client),
                                 status=400)
    changed = set(settings.scopes) != set(client.settings.scopes)

    async def update(conn: AsyncConnection) -> None:
        await ctx.runtime.management(conn).update(ctx.signed_in, client.id, settings)

    async def again(refused: Refused) -> Response:
        return await render_edit(ctx, client, form, Errors(refused.errors), status=refused.status)

    return await submit(
        ctx, update, again=again, fields=lambda problems: Errors.of(problems, form),
        done=lambda _: f"{BASE}/{client.id}?notice={'scopes-changed' if changed else 'saved'}")


async def render_edit(ctx: Page, client: Client, form: ClientForm, errors: Errors, *,
                      status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(ctx.runtime, conn, ctx.signed_in,
                                  keep=client.settings.role_divisions)
        owners = await owner_choices(ctx, conn, keep=client.settings.owner_id)
    return ctx.render(
        "clients/edit.html", status, **common(ctx), client=client, form=form, errors=errors,
        offered=offered,
        grant_choices=grant_choices(keep_token=GrantType.token in client.settings.grant_types),
        ttl_hint=ttl_hint(form), role_reason=ROLE_NOT_HELD, general=GENERAL,
        owners=owners, environments=ENVIRONMENTS)
