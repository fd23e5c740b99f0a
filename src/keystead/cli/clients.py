"""`keystead bootstrap-client` and `keystead clients ...`: client management as the operator."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import secret_delivery
from keystead.cli.grants import role_in_division
from keystead.cli.run import fail, out, run_in_transaction
from keystead.config import Settings
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import ClientFilter, ClientState, TokenEndpointAuthMethod
from keystead.domain.errors import InvalidInputError
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.store.clients import SqlClientStore
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.web.presenters import client_json
from keystead.web.schemas import ClientRequest, parse_body

clients_app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)


def bootstrap_client(
    name: Annotated[str, typer.Option(help="The client's name")],
    role: Annotated[list[str], typer.Option(help="A role name to hold in the Home division; "
                                                 "repeat for several")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, secret} as JSON")] = False,
    token_endpoint_auth_method: Annotated[TokenEndpointAuthMethod, typer.Option(
        help="How the client sends its secret: client_secret_basic (HTTP Basic) or "
             "client_secret_post (form body); it may use only this one")]
    = TokenEndpointAuthMethod.client_secret_basic,
) -> None:
    """Create a client-credentials client with ROLEs and every built-in scope; print its secret
    once."""

    async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
        roles = SqlRoleStore(conn)
        role_ids = []
        for role_name in role:
            found = await roles.by_name(role_name)
            if found is None:
                raise InvalidInputError.one("role", "unknown.role", f"no role named {role_name!r}")
            role_ids.append(found.id)
        scopes = [s.id for s in await SqlScopeStore(conn).list() if s.builtin]
        request = ClientRequest(name=name, authorizedGrantType="CLIENT-CREDENTIALS",
                                roleIds=role_ids, scope=scopes,
                                tokenEndpointAuthMethod=token_endpoint_auth_method)
        return await manage.create(caller, request.to_settings())

    issued = run_in_transaction(work)
    if as_json:
        out({"id": issued.client.id, "secret": issued.secret})
    else:
        typer.echo(f"client id:     {issued.client.id}")
        typer.echo(f"client secret: {issued.secret}")
        typer.echo("Store the secret now: it will not be shown again.")


@clients_app.command("list")
def clients_list(state: ClientState | None = None, name: str | None = None) -> None:
    """List clients (never their secrets)."""

    async def work(_m: ClientManagement, conn: AsyncConnection, _c: Caller) -> Any:
        found, _total = await SqlClientStore(conn).search(ClientFilter(name=name, state=state),
                                                          Page(1, 10**6))
        return found

    for client in run_in_transaction(work):
        grants = ",".join(str(g) for g in client.settings.grant_types)
        typer.echo(f"{client.id}  {client.settings.state:<8}  {grants:<22}  {client.settings.name}")


@clients_app.command("show")
def clients_show(client_id: str) -> None:
    """Show one client as JSON."""
    client = run_in_transaction(lambda m, _conn, c: m.find(c, client_id))
    out(client_json(client))


def _set_state(client_id: str, state: ClientState) -> None:
    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        client = await manage.find(caller, client_id)
        return await manage.update(caller, client_id, replace(client.settings, state=state,
                                                              date_to_delete=None))

    client = run_in_transaction(work)
    typer.echo(f"{client.id} is now {client.settings.state}")


@clients_app.command("set-auth-method")
def clients_set_auth_method(client_id: str, method: TokenEndpointAuthMethod) -> None:
    """Set how a client authenticates at the token endpoint (after upgrading, for a client that
    sends its secret in the form body: client_secret_post)."""

    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        client = await manage.find(caller, client_id)
        return await manage.update(caller, client_id, replace(
            client.settings, token_endpoint_auth_method=method))

    client = run_in_transaction(work)
    typer.echo(f"{client.id} now authenticates with {client.settings.token_endpoint_auth_method}")


@clients_app.command("add-role")
def clients_add_role(
    client_id: str,
    role: Annotated[str, typer.Option(help="The role's name")],
    division: Annotated[str | None, typer.Option(help="The division's name (default: Home)")]
    = None,
) -> None:
    """Give a client a role in a division, as the operator.

    Through the API a caller may assign only roles it holds itself; this is how an operator gives
    an admin client a custom role so that it can, in turn, assign it.
    """

    async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
        added = await role_in_division(conn, role, division)
        client = await manage.find(caller, client_id)
        if added in client.settings.role_divisions:
            return client
        return await manage.update(caller, client_id, replace(
            client.settings, role_divisions=(*client.settings.role_divisions, added)))

    client = run_in_transaction(work)
    typer.echo(f"{client.id} holds {len(client.settings.role_divisions)} role grant(s)")


@clients_app.command("disable")
def clients_disable(client_id: str) -> None:
    """Disable a client: its tokens stop working at once; reversible with enable."""
    _set_state(client_id, ClientState.disabled)


@clients_app.command("enable")
def clients_enable(client_id: str) -> None:
    """Re-enable a disabled or inactive client (its old tokens stay revoked)."""
    _set_state(client_id, ClientState.active)


@clients_app.command("delete")
def clients_delete(client_id: str,
                   yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Delete a client for good: its tokens are invalid at once; its audit history stays."""
    if not yes:
        typer.confirm(f"Delete client {client_id} for good?", abort=True)
    run_in_transaction(lambda m, _conn, c: m.delete(c, client_id))
    typer.echo(f"{client_id} deleted")


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: str,
    dual_use_seconds: Annotated[int | None, typer.Option(
        help="Seconds the previous secret keeps working (0-604800)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    deliver: Annotated[bool, typer.Option(
        "--deliver", help="Write it to the client's secret destination (verified) instead of "
                          "printing it")] = False,
) -> None:
    """Generate a new secret (printed once); the previous one works for the dual-use window."""
    window = Settings().default_dual_use_seconds if dual_use_seconds is None else dual_use_seconds
    if deliver:
        client = secret_delivery.rotate_delivered(client_id, window)
        typer.echo(f"{client.id}: new secret delivered to its destination and read back; the "
                   f"previous one works for {window} more seconds")
        return
    issued = run_in_transaction(
        lambda m, _conn, c: m.regenerate_secret(c, client_id, dual_use_seconds=window))
    if as_json:
        out({"id": issued.client.id, "secret": issued.secret})
    else:
        typer.echo(f"client secret: {issued.secret}")
        typer.echo("Store the secret now: it will not be shown again.")


@clients_app.command("import")
def clients_import(file: Path) -> None:
    """Import clients exported as OAuthClient JSON (a list or a listing), keeping dateCreated.

    Each imported client gets a new secret, printed once as JSON lines {name, id, secret}.
    """
    try:
        raw = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"cannot read {file} as JSON: {exc}")
    entries = raw.get("entities", raw) if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        fail("the file must hold a JSON list of OAuthClient objects or an entity listing")

    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        issued = []
        for index, entry in enumerate(entries):
            created_text = entry.get("dateCreated")
            try:
                created = (datetime.fromisoformat(str(created_text).replace("Z", "+00:00"))
                           if created_text else None)
            except ValueError as exc:
                raise InvalidInputError.one(f"[{index}].dateCreated", "invalid.date",
                                            "dateCreated must be an ISO-8601 date") from exc
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            try:
                request = parse_body(ClientRequest, json.dumps(entry).encode(),
                                     ignore=frozenset({"id", "secret", "dateCreated",
                                                       "dateModified", "createdBy", "modifiedBy",
                                                       "selfUri", "secrets", "dateLastUsed"}))
                issued.append(await manage.create(caller, request.to_settings(),
                                                  date_created=created))
            except InvalidInputError as exc:
                raise InvalidInputError.one(f"[{index}]", "invalid", exc.message) from exc
        return issued

    for issued in run_in_transaction(work):
        typer.echo(json.dumps({"name": issued.client.settings.name, "id": issued.client.id,
                               "secret": issued.secret}))

