"""`keystead bootstrap-client` and `keystead clients ...`: client management as the operator."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import exit_codes, secret_delivery
from keystead.cli.client_backends import clients_backend
from keystead.cli.exit_codes import stop
from keystead.cli.grants import role_in_division
from keystead.cli.output import Column, JsonOption, emit_one, emit_rows, field
from keystead.cli.remote import api
from keystead.cli.run import fail, out, run_in_transaction
from keystead.config import Settings
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import (
    ClientState,
    Environment,
    TokenEndpointAuthMethod,
)
from keystead.domain.errors import InvalidInputError
from keystead.domain.principal import Caller
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.web.schemas import ClientRequest, parse_body

clients_app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)
ClientId = Annotated[str, typer.Argument(metavar="CLIENT-ID", help="The client's id")]


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


CLIENT_COLUMNS: list[Column] = [
    ("ID", field("id")), ("STATE", field("state")), ("GRANTS", field("authorizedGrantTypes")),
    ("NAME", field("name"))]
CLIENT_FIELDS: list[Column] = [
    *CLIENT_COLUMNS, ("DESCRIPTION", field("description")), ("SCOPES", field("scope")),
    ("REDIRECT URIS", field("registeredRedirectUri")), ("OWNER", field("owner")),
    ("OWNER CONTACT", field("ownerContact")), ("TAGS", field("tags")),
    ("ENVIRONMENT", field("environment")), ("AUTH METHOD", field("tokenEndpointAuthMethod")),
    ("DATE TO DELETE", field("dateToDelete")), ("LAST USED", field("dateLastUsed")),
    ("SECRETS", lambda c: len(c.get("secrets") or []))]


@clients_app.command("list")
def clients_list(
    state: Annotated[ClientState | None, typer.Option(help="Only clients in this state")] = None,
    name: Annotated[str | None, typer.Option(metavar="TEXT",
                                             help="Only clients whose name holds TEXT")] = None,
    as_json: JsonOption = False,
) -> None:
    """List clients (never their secrets): a table, or their OAuthClient JSON as a list."""
    found = clients_backend().search(state=None if state is None else str(state), name=name)
    emit_rows(found, CLIENT_COLUMNS, as_json=as_json)


@clients_app.command("show")
def clients_show(client_id: ClientId, as_json: JsonOption = False) -> None:
    """Show one client (with its owner's name and whether it is orphaned; never a secret)."""
    emit_one(clients_backend().show(client_id), CLIENT_FIELDS, as_json=as_json)


# The governance options of create and update ("none" clears the owner or environment).
OwnerOption = Annotated[str | None, typer.Option(
    "--owner", metavar="USER-ID|EMAIL",
    help="The owning user, by id or e-mail (none: no owner); must be active")]
ContactOption = Annotated[str | None, typer.Option(
    "--owner-contact", metavar="EMAIL", help="An e-mail or team address for the owner")]
TagOption = Annotated[list[str] | None, typer.Option(
    "--tag", metavar="TAG…", help="A tag (repeat for several; on update, replaces the tags)")]
EnvironmentOption = Annotated[str | None, typer.Option(
    "--environment", metavar="production|staging|development",
    help="The environment label (none on update: not labelled)")]


def _environment(value: str) -> str | None:
    if value == "none":
        return None
    if value not in {e.value for e in Environment}:
        stop(f"--environment must be one of: {', '.join(e.value for e in Environment)}, none",
             exit_codes.INPUT)
    return value


def _print_issued(issued: dict[str, Any], *, as_json: bool) -> None:
    """A created client: its id and secret (shown this once; none for a public client)."""
    if as_json:
        out({"id": issued["id"], "secret": issued.get("secret")})
        return
    typer.echo(f"client id:     {issued['id']}")
    if issued.get("secret") is not None:
        typer.echo(f"client secret: {issued['secret']}")
        typer.echo("Store the secret now: it will not be shown again.")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="The client's name")],
    description: Annotated[str, typer.Option(metavar="TEXT", help="What the client is for")]
    = "",
    grant_type: Annotated[list[str] | None, typer.Option(
        "--grant-type", metavar="GRANT…", help="CLIENT-CREDENTIALS (default), CODE or "
                                              "SAML2-BEARER; repeat for several")] = None,
    role: Annotated[list[str] | None, typer.Option(
        metavar="ROLE…", help="A role name to hold in the Home division (client credentials); "
                             "repeat")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        metavar="SCOPE…", help="A scope; repeat for several")] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option(
        "--redirect-uri", metavar="URI…", help="A redirect URI (CODE); repeat for several")]
    = None,
    owner: OwnerOption = None,
    owner_contact: ContactOption = None,
    tag: TagOption = None,
    environment: EnvironmentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, secret} as JSON")] = False,
) -> None:
    """Create a client with the same rules as the API; print its secret once."""
    env = _environment(environment) if environment is not None else None
    body: dict[str, Any] = {
        "name": name, "description": description,
        "authorizedGrantTypes": grant_type or ["CLIENT-CREDENTIALS"], "scope": scope or [],
        "registeredRedirectUri": redirect_uri or [], "tags": tag or []}
    if owner_contact is not None:
        body["ownerContact"] = owner_contact
    if env is not None:
        body["environment"] = env
    issued = clients_backend().create(body, roles=role or [],
                                      owner=None if owner == "none" else owner)
    _print_issued(issued, as_json=as_json)


@clients_app.command("update")
def clients_update(
    client_id: ClientId,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="A new name")] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT", help="A new description")]
    = None,
    owner: OwnerOption = None,
    owner_contact: ContactOption = None,
    tag: TagOption = None,
    clear_tags: Annotated[bool, typer.Option("--clear-tags", help="Remove every tag")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a client's name, description or governance fields; the rest stays."""
    changes: dict[str, Any] = {}
    if environment is not None:
        changes["environment"] = _environment(environment)
    if name is not None:
        changes["name"] = name.strip()
    if description is not None:
        changes["description"] = description.strip()
    if owner_contact is not None:
        changes["ownerContact"] = owner_contact.strip()
    if tag or clear_tags:
        changes["tags"] = list(tag or ())
    client = clients_backend().change(client_id, changes, owner=owner)
    emit_one(client, CLIENT_FIELDS, as_json=as_json)


def _set_state(client_id: str, state: ClientState, *, as_json: bool) -> None:
    client = clients_backend().change(client_id, {"state": str(state), "dateToDelete": None})
    if as_json:
        out(client)
    else:
        typer.echo(f"{client['id']} is now {client['state']}")


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
def clients_disable(client_id: ClientId, as_json: JsonOption = False) -> None:
    """Disable a client: its tokens stop working at once; reversible with enable."""
    _set_state(client_id, ClientState.disabled, as_json=as_json)


@clients_app.command("enable")
def clients_enable(client_id: ClientId, as_json: JsonOption = False) -> None:
    """Re-enable a disabled or inactive client (its old tokens stay revoked)."""
    _set_state(client_id, ClientState.active, as_json=as_json)


@clients_app.command("schedule-deletion")
def clients_schedule_deletion(
    client_id: ClientId,
    days: Annotated[int, typer.Option("--in", metavar="DAYS", min=1, max=3650,
                                      help="Days from now until it is deleted")],
    as_json: JsonOption = False,
) -> None:
    """Make a client inactive (its tokens stop working) and delete it after DAYS days, unless
    it is enabled again before then."""
    when = datetime.now(UTC) + timedelta(days=days)
    client = clients_backend().change(client_id, {
        "state": str(ClientState.inactive),
        "dateToDelete": when.isoformat(timespec="seconds").replace("+00:00", "Z")})
    if as_json:
        out(client)
    else:
        typer.echo(f"{client['id']} is inactive and will be deleted at {client['dateToDelete']}")


@clients_app.command("delete")
def clients_delete(client_id: ClientId,
                   yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
                   as_json: JsonOption = False) -> None:
    """Delete a client for good: its tokens are invalid at once; its audit history stays.

    With the policy's deletionApproval on, this files a request another admin must approve."""
    if not yes:
        typer.confirm(f"Delete client {client_id} for good?", abort=True)
    pending = clients_backend().delete(client_id)
    if as_json:
        out({"id": client_id, "deleted": pending is None, "deletionRequest": pending})
    elif pending is None:
        typer.echo(f"{client_id} deleted")
    else:
        typer.echo(f"{client_id} stays until another admin approves deletion request "
                   f"{pending['id']} (expires {pending['expiresAt']})")


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: ClientId,
    dual_use_seconds: Annotated[int | None, typer.Option(
        metavar="SECONDS", help="Seconds the previous secret keeps working (0-604800)")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, secret} as JSON")]
    = False,
    deliver: Annotated[bool, typer.Option(
        "--deliver", help="Write it to the client's secret destination (verified) instead of "
                          "printing it (local mode)")] = False,
) -> None:
    """Generate a new secret (printed once); the previous one works for the dual-use window."""
    if deliver:
        if api() is not None:
            stop("--deliver runs in local mode; remotely, POST the client's /secret with "
                 '{"deliver": true}', exit_codes.USAGE)
        window = (Settings().default_dual_use_seconds if dual_use_seconds is None
                  else dual_use_seconds)
        delivered = secret_delivery.rotate_delivered(client_id, window)
        typer.echo(f"{delivered.id}: new secret delivered to its destination and read back; "
                   f"the previous one works for {window} more seconds")
        return
    issued = clients_backend().rotate(client_id, dual_use_seconds)
    if as_json:
        out({"id": issued["id"], "secret": issued["secret"]})
    else:
        typer.echo(f"client secret: {issued['secret']}")
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

