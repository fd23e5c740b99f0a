"""The Add-client wizard: details, settings, review, save.

It is stateless: each step carries the earlier steps' values in hidden fields. Each step asks
``ClientManagement.check`` (``checks.judge``) and the last saves with ``create``, so the wizard
refuses exactly what the API refuses. A new secret goes, sealed, to the session for the one
page that shows it (``secrets.py``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.client_management import Issued
from keystead.domain.clients import REDIRECT_GRANTS, GrantType
from keystead.domain.errors import ForbiddenError
from keystead.domain.permissions import Permission
from keystead.web.console import sessions
from keystead.web.console.clients.catalogue import ROLE_NOT_HELD, catalogue, grant_choices
from keystead.web.console.clients.checks import judge
from keystead.web.console.clients.form import GENERAL, ClientForm, Errors
from keystead.web.console.clients.owners import ENVIRONMENTS, owner_choices
from keystead.web.console.clients.presenters import BASE, common, ttl_hint
from keystead.web.console.clients.secrets import keep_for_showing
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page

STEPS = ("Client details", "Settings", "Review")


async def wizard_start(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.OAUTH_CLIENT_ADD)
    return await render_step(ctx, 1, ClientForm(), Errors())


async def wizard(ctx: Page) -> Response:
    """One POST per step: ``step`` names the step whose form was sent, ``action`` the button."""
    caller = ctx.signed_in
    caller.require(Permission.OAUTH_CLIENT_ADD)
    form = ClientForm.posted(ctx).for_wizard()
    step, action = ctx.field("step"), ctx.field("action", "next")
    if step == "save" or (step == "3" and action == "save"):
        return await save(ctx, form)
    if action == "back":
        return await render_step(ctx, 2 if step == "3" else 1, form, Errors())
    if step not in ("1", "2", "3"):
        return await render_step(ctx, 1, form, Errors())
    errors = await judge(ctx, form)
    if first := errors.on_step(1):
        return await render_step(ctx, 1, form, first, status=400)
    if step == "1":
        return await render_step(ctx, 2, form, Errors())
    if errors:
        return await render_step(ctx, 2, form, errors, status=400)
    return await render_step(ctx, 3, form, Errors())


async def save(ctx: Page, form: ClientForm) -> Response:
    """Create the client; its secret goes, sealed, to the session for the one page showing it."""
    settings, errors = form.settings()
    if errors:
        return await refused_step(ctx, form, errors)
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")

    async def create(conn: AsyncConnection) -> Issued:
        issued = await ctx.runtime.management(conn).create(ctx.signed_in, settings)
        if issued.secret is not None:  # a public client has no secret to show
            keep_for_showing(ctx, session, issued, kind="created")
            await sessions.save_data(ctx.runtime, conn, session)
        return issued

    def done(issued: Issued) -> str:
        if issued.secret is None:
            return f"{BASE}/{issued.client.id}?notice=created-public"
        return f"{BASE}/{issued.client.id}/secret"

    async def again(refused: Refused) -> Response:
        return await refused_step(ctx, form, Errors(refused.errors))

    return await submit(ctx, create, done=done, again=again,
                        fields=lambda problems: Errors.of(problems, form))


async def refused_step(ctx: Page, form: ClientForm, errors: Errors) -> Response:
    """The first step showing a problem (the details, else the settings), with 400."""
    if first := errors.on_step(1):
        return await render_step(ctx, 1, form, first, status=400)
    return await render_step(ctx, 2, form, errors, status=400)


async def render_step(ctx: Page, step: int, form: ClientForm, errors: Errors, *,
                      status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(ctx.runtime, conn, ctx.signed_in)
        owners = await owner_choices(ctx, conn)
    return ctx.render(
        "clients/wizard.html", status, **common(ctx), step=step, steps=STEPS, form=form,
        errors=errors, offered=offered, grant_choices=grant_choices(keep_token=False),
        has_cc=form.has(GrantType.client_credentials),
        has_code=any(form.has(g) for g in REDIRECT_GRANTS), ttl_hint=ttl_hint(form),
        role_reason=ROLE_NOT_HELD, general=GENERAL,
        owners=owners, environments=ENVIRONMENTS)
