"""A client's secret: shown once, regenerated with a dual-use window, the previous one expired.

A new secret travels to the one page that shows it sealed in the server-side session
(``keep_for_showing``), and leaves the session as it is shown. That page also gives the next
steps: the token URL, a ready ``curl``, and the credentials as a ``.env`` or JSON file, which
the browser makes from the page (no second request carries the secret).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.client_management import Issued
from keystead.domain.clients import Client, GrantType, TokenEndpointAuthMethod
from keystead.domain.errors import ForbiddenError, NotFoundError, Problem
from keystead.domain.permissions import Permission
from keystead.domain.secrets import fingerprint
from keystead.protocol.metadata import server_metadata
from keystead.web.console import sessions
from keystead.web.console.clients.detail import find_client, render_detail
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.presenters import BASE, common, who
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id, redirect

REVEAL = "reveal"  # the session key holding a sealed secret awaiting its one showing


def keep_for_showing(ctx: Page, session: sessions.Session, issued: Issued, *, kind: str,
                     previous_until: datetime | None = None) -> None:
    session.data[REVEAL] = ctx.runtime.box.seal(json.dumps({
        "clientId": issued.client.id, "secret": issued.secret, "kind": kind,
        "previousUntil": previous_until.isoformat() if previous_until else None}))


async def show_secret(ctx: Page) -> Response:
    client_id = path_id(ctx)
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")
    opened = ctx.runtime.box.open(session.data.get(REVEAL, ""))
    shown: dict[str, str | None] = json.loads(opened) if opened else {}
    async with ctx.transaction() as conn:
        if shown.get("clientId") == client_id:
            # This user just created or rotated it (that took its own permission, which may
            # not include view). Out of the session before it is shown: a reload, Back or a
            # copied URL finds nothing.
            del session.data[REVEAL]
            await sessions.save_data(ctx.runtime, conn, session)
            client = await ctx.runtime.client_records(conn).find(client_id)
            if client is None:
                raise NotFoundError(f"no OAuth client with id {client_id}")
        else:
            shown = {}
            client = await ctx.runtime.management(conn).find(ctx.signed_in, client_id)
    until = shown.get("previousUntil")
    secret = shown.get("secret") or ""
    token_url = str(server_metadata(ctx.runtime.settings.issuer)["token_endpoint"])
    return ctx.render("clients/secret.html", **common(ctx), client=client,
                      secret=secret, kind=shown.get("kind") or "",
                      previous_until=datetime.fromisoformat(until) if until else None, who=who,
                      fingerprint=fingerprint(secret) if secret else "", token_url=token_url,
                      curl=curl_for(client, secret, token_url) if secret else "")


def curl_for(client: Client, secret: str, token_url: str) -> str:
    """A ``curl`` asking for a client-credentials token as the client authenticates (Basic or
    form parameters); "" for a client without that grant, which such a request cannot serve."""
    if GrantType.client_credentials not in client.settings.grant_types:
        return ""
    # Ids are UUIDs and secrets URL-safe base64: single quotes need no escaping.
    if client.settings.token_endpoint_auth_method is TokenEndpointAuthMethod.client_secret_post:
        credentials = f"-d 'client_id={client.id}' -d 'client_secret={secret}'"
    else:
        credentials = f"-u '{client.id}:{secret}'"
    return (f"curl -sS -X POST '{token_url}' \\\n  {credentials} \\\n"
            "  -d grant_type=client_credentials")


async def regenerate(ctx: Page) -> Response:
    client_id = path_id(ctx)
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")
    raw = ctx.field("dualUseSeconds").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        errors = Errors()
        errors.add("dualUseSeconds", "choose how long the old secret keeps working")
        client = await find_client(ctx, Permission.OAUTH_CLIENT_EDIT)
        return await render_detail(ctx, client, errors, status=400)

    async def rotate(conn: AsyncConnection) -> None:
        issued = await ctx.runtime.management(conn).regenerate_secret(
            ctx.signed_in, client_id, dual_use_seconds=int(raw))
        previous = next((s for s in issued.client.secrets if not s.current), None)
        keep_for_showing(ctx, session, issued, kind="regenerated",
                         previous_until=previous.date_expires if previous else None)
        await sessions.save_data(ctx.runtime, conn, session)

    async def again(refused: Refused) -> Response:
        return await render_detail(ctx, await find_client(ctx, Permission.OAUTH_CLIENT_EDIT),
                                   Errors(refused.errors), status=refused.status)

    return await submit(ctx, rotate, again=again, fields=_as_named,
                        done=lambda _: f"{BASE}/{client_id}/secret")


def _as_named(problems: Sequence[Problem]) -> Errors:
    """The problems under the names the domain gives (the dual-use window's, at most)."""
    errors = Errors()
    for problem in problems:
        errors.add(problem.field, problem.message)
    return errors


async def expire_previous(ctx: Page) -> Response:
    client_id = path_id(ctx)
    async with ctx.transaction() as conn:
        await ctx.runtime.management(conn).expire_previous_secret(ctx.signed_in, client_id)
    return redirect(f"{BASE}/{client_id}?notice=previous-expired")
