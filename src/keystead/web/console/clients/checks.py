"""The domain's verdict on a client form, by form field."""

from __future__ import annotations

from keystead.domain.clients import Client
from keystead.web.console.clients.form import ClientForm, Errors
from keystead.web.console.pages import Page


async def judge(ctx: Page, form: ClientForm, *, client: Client | None = None) -> Errors:
    """Every problem the domain finds with the form's settings (for a new client, or as
    changes to ``client``), by form field; a field that cannot be read keeps that error.

    Raises:
        ForbiddenError: the form assigns a role the signed-in user does not hold.
    """
    settings, errors = form.settings(client.settings if client else None)
    if form.has_nul() or "roles" in errors:
        return errors  # the rules below look these values up in the database
    async with ctx.transaction() as conn:
        problems = await ctx.runtime.management(conn).check(
            ctx.signed_in, settings, client_id=client.id if client else None)
    errors.extend(problems, form, keep=frozenset(errors))
    return errors
