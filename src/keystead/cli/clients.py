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
from keystead.cli.run import fail, out, run_in_transaction, run_with_runtime
from keystead.config import Settings
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import (
    ClientFilter,
    ClientSettings,
    ClientState,
    Environment,
    TokenEndpointAuthMethod,
)
from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.deletion_requests import DeletionRequest
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.store.clients import SqlClientStore
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.store.users import SqlUserStore
from keystead.web.presenters import client_json
from keystead.web.runtime import Runtime
from keystead.web.schemas import ClientRequest, OwnerRef, parse_body

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
    """Show one client as JSON (with its owner's name and whether it is orphaned)."""

    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        client = await manage.find(caller, client_id)
        return client_json(client, owners=await manage.owners_of([client]))

    out(run_in_transaction(work))


# The governance options of create and update ("none" clears the owner or environment).
OwnerOption = Annotated[str | None, typer.Option(
    "--owner", help="The owning user, by id or e-mail (none: no owner); must be active")]
ContactOption = Annotated[str | None, typer.Option(
    "--owner-contact", help="An e-mail or team address for the owner")]
TagOption = Annotated[list[str] | None, typer.Option(
    "--tag", help="A tag (repeat for several; on update, replaces the tags)")]
EnvironmentOption = Annotated[str | None, typer.Option(
    "--environment", help="production, staging or development (none: not labelled)")]


async def _owner_id(conn: AsyncConnection, owner: str) -> str | None:
    """The user id an --owner names: an e-mail is looked up, anything else is an id (the use
    case checks it is an active user)."""
    if owner == "none":
        return None
    if "@" not in owner:
        return owner
    user = await SqlUserStore(conn).by_email(owner.strip())
    if user is None:
        raise InvalidInputError.one("owner.id", "unknown.user",
                                    f"no user with e-mail {owner!r}")
    return user.id


def _environment(value: str) -> Environment | None:
    if value == "none":
        return None
    try:
        return Environment(value)
    except ValueError:
        fail(f"--environment must be one of: {', '.join(e.value for e in Environment)}, none")
        raise  # unreachable: fail exits


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="The client's name")],
    description: Annotated[str, typer.Option(help="What the client is for")] = "",
    grant_type: Annotated[list[str] | None, typer.Option(
        "--grant-type", help="CLIENT-CREDENTIALS (default), CODE or SAML2-BEARER; repeat "
                             "for several")] = None,
    role: Annotated[list[str] | None, typer.Option(
        help="A role name to hold in the Home division (client credentials); repeat")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="A scope; repeat for several")] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option(
        "--redirect-uri", help="A redirect URI (CODE); repeat for several")] = None,
    owner: OwnerOption = None,
    owner_contact: ContactOption = None,
    tag: TagOption = None,
    environment: EnvironmentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, secret} as JSON")] = False,
) -> None:
    """Create a client as the operator, with the same rules as the API; print its secret once."""
    env = _environment(environment) if environment is not None else None

    async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
        role_ids = [(await role_in_division(conn, r, None)).role_id for r in role or []]
        owner_id = await _owner_id(conn, owner) if owner is not None else None
        request = ClientRequest(
            name=name, description=description,
            authorizedGrantTypes=grant_type or ["CLIENT-CREDENTIALS"], roleIds=role_ids,
            scope=scope or [], registeredRedirectUri=redirect_uri or [],
            owner=OwnerRef(id=owner_id) if owner_id else None, ownerContact=owner_contact,
            tags=tag or [], environment=env)
        return await manage.create(caller, request.to_settings())

    issued = run_in_transaction(work)
    if as_json:
        out({"id": issued.client.id, "secret": issued.secret})
    else:
        typer.echo(f"client id:     {issued.client.id}")
        if issued.secret is not None:
            typer.echo(f"client secret: {issued.secret}")
            typer.echo("Store the secret now: it will not be shown again.")


@clients_app.command("update")
def clients_update(
    client_id: str,
    name: Annotated[str | None, typer.Option(help="A new name")] = None,
    description: Annotated[str | None, typer.Option(help="A new description")] = None,
    owner: OwnerOption = None,
    owner_contact: ContactOption = None,
    tag: TagOption = None,
    clear_tags: Annotated[bool, typer.Option("--clear-tags", help="Remove every tag")] = False,
    environment: EnvironmentOption = None,
) -> None:
    """Change a client's name, description or governance fields; the rest stays."""
    env = _environment(environment) if environment is not None else None

    async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
        settings: ClientSettings = (await manage.find(caller, client_id)).settings
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name.strip()
        if description is not None:
            changes["description"] = description.strip()
        if owner is not None:
            changes["owner_id"] = await _owner_id(conn, owner)
        if owner_contact is not None:
            changes["owner_contact"] = owner_contact.strip()
        if tag or clear_tags:
            changes["tags"] = tuple(tag or ())
        if environment is not None:
            changes["environment"] = env
        client = await manage.update(caller, client_id, replace(settings, **changes))
        return client_json(client, owners=await manage.owners_of([client]))

    out(run_in_transaction(work))


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
    """Delete a client for good: its tokens are invalid at once; its audit history stays.

    With the policy's deletionApproval on, this files a request another admin must approve."""
    if not yes:
        typer.confirm(f"Delete client {client_id} for good?", abort=True)

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller
                   ) -> DeletionRequest | None:
        return await runtime.client_deletion(conn).delete(caller, client_id)

    pending = run_with_runtime(work)
    if pending is None:
        typer.echo(f"{client_id} deleted")
    else:
        typer.echo(f"{client_id} stays until another admin approves deletion request "
                   f"{pending.id} (expires {pending.expires_at:%Y-%m-%d %H:%M} UTC)")


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

