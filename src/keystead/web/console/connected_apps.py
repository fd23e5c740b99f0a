"""Connected apps: the applications the signed-in user allowed to act for them, and taking that
back.

Any signed-in user may use it, whatever their roles: it shows and revokes only their own
authorizations (every query is keyed by the signed-in user, never by a posted user id).
Revoking is what DELETE /api/v2/oauth/authorizations/{clientId} does, audited the same way:
the consent is forgotten and each of the app's access and refresh tokens stops at once.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import NotFoundError
from keystead.domain.scopes import BUILTIN_SCOPES, OIDC_SCOPES
from keystead.web.console.pages import Page, redirect, route

PATH = "/admin/connected-apps"
# Notices a redirect may ask for: fixed texts, so no request can inject one.
NOTICES = {
    "revoked": "Access revoked: the application's tokens no longer work, and it must ask you "
               "again before it can act for you.",
    "not-connected": "That application had no access to revoke (it may have been revoked "
                     "already).",
}


async def connected_apps(ctx: Page) -> Response:
    caller = ctx.signed_in
    async with ctx.transaction() as conn:
        connected = ctx.runtime.connected_apps(conn)
        apps = await connected.list(caller)
        catalogue = await connected.scope_descriptions()
    return ctx.render_with(NOTICES, "connected_apps.html", apps=apps,
                           descriptions={**BUILTIN_SCOPES, **catalogue, **OIDC_SCOPES})


async def revoke(ctx: Page) -> Response:
    caller = ctx.signed_in
    client_id = ctx.field("client_id")
    if "\x00" in client_id:  # no id holds NUL, and PostgreSQL text cannot
        return redirect(f"{PATH}?notice=not-connected")
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.connected_apps(conn).revoke(caller, client_id)
    except NotFoundError:
        return redirect(f"{PATH}?notice=not-connected")
    return redirect(f"{PATH}?notice=revoked")


routes: list[Route] = [
    route(PATH, connected_apps),
    route(PATH + "/revoke", post=revoke),
]
