"""The ``keystead`` command: thin commands over the same use cases the API calls."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.config import Settings
from keystead.domain.audit import AuditEvent
from keystead.domain.clients import ClientState, RoleDivision
from keystead.domain.errors import DomainError, InvalidInputError, NotFoundError
from keystead.domain.management import ClientManagement
from keystead.domain.permissions import SUPER_ADMIN
from keystead.domain.ports import ClientFilter, Page
from keystead.domain.principal import Caller, operator
from keystead.domain.users import User
from keystead.log_setup import configure_logging, uvicorn_log_config
from keystead.protocol.keys import PUBLISH_DELAY, StoredKey, generate_key, key_cipher
from keystead.store.audit import SqlAuditLog, verify_chain
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore
from keystead.store.database import create_engine
from keystead.store.keys import SqlSigningKeys
from keystead.store.migrate import upgrade
from keystead.store.seed import seed
from keystead.store.users import SqlUserStore
from keystead.web.presenters import client_json
from keystead.web.runtime import NotInitialisedError, Runtime, build_runtime, utc_now
from keystead.web.schemas import ClientRequest, parse_body

app = typer.Typer(help="Keystead: OAuth 2.0 authorization server with governed client "
                       "management.", no_args_is_help=True)
clients_app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Signing keys (JWT access tokens, ID tokens).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
T = TypeVar("T")


def _out(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _run_in_transaction(work: Callable[[ClientManagement, AsyncConnection, Caller],
                                       Awaitable[T]]) -> T:
    """Run ``work`` in one transaction as the operator; domain errors exit 1 with the reason."""

    async def with_management(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> T:
        return await work(runtime.management(conn), conn, caller)

    return _run_with_runtime(with_management)


def _run_with_runtime(work: Callable[[Runtime, AsyncConnection, Caller], Awaitable[T]]) -> T:
    """Like _run_in_transaction, for work that needs more of the runtime than client management."""

    async def main() -> T:
        runtime = await build_runtime(Settings())
        try:
            async with runtime.transaction() as conn:
                return await work(runtime, conn, operator())
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        _fail(exc.message)
        raise  # unreachable: _fail exits
    except NotInitialisedError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@app.command()
def init() -> None:
    """Create or upgrade the schema and seed the built-ins (idempotent)."""
    settings = Settings().with_secret_key()
    url = settings.resolved_database_url
    upgrade(url)

    async def main() -> list[str]:
        engine = create_engine(url)
        cipher = key_cipher(settings.secret_key.get_secret_value().encode())
        try:
            async with engine.begin() as conn:
                return await seed(conn, now=utc_now(), make_key=lambda: generate_key(cipher))
        finally:
            await engine.dispose()

    added = asyncio.run(main())
    typer.echo(f"database ready ({len(added)} built-ins added)")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: Annotated[str | None, typer.Option(
              help="Overrides KEYSTEAD_LOG_LEVEL (default INFO).")] = None) -> None:
    """Serve the API and the protocol endpoints.

    Logs go to stderr as JSON lines (text on a terminal; KEYSTEAD_LOG_FORMAT=auto|json|text),
    one access line per request at INFO. uvicorn's own access log stays off: it prints the
    query string, which can hold an authorization code.
    """
    try:
        settings = Settings() if log_level is None else Settings(log_level=log_level)
    except ValidationError as exc:
        _fail(f"invalid setting: {exc.errors()[0]['loc'][0]} {exc.errors()[0]['msg']}")
        raise  # unreachable: _fail exits
    # The workers build their own Settings from the environment.
    os.environ["KEYSTEAD_LOG_LEVEL"] = settings.log_level
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run("keystead.web.asgi:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level=settings.log_level.lower(), access_log=False,
                log_config=uvicorn_log_config(settings.log_level, settings.log_format),
                proxy_headers=False)


@app.command("bootstrap-client")
def bootstrap_client(
    name: Annotated[str, typer.Option(help="The client's name")],
    role: Annotated[list[str], typer.Option(help="A role name to hold in the Home division; "
                                                 "repeat for several")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, secret} as JSON")] = False,
) -> None:
    """Create a client-credentials client with ROLEs and every built-in scope; print its secret
    once."""

    async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
        catalog = SqlCatalog(conn)
        role_ids = []
        for role_name in role:
            found = await catalog.role_by_name(role_name)
            if found is None:
                raise InvalidInputError.one("role", "unknown.role", f"no role named {role_name!r}")
            role_ids.append(found.id)
        scopes = [s.id for s in await catalog.scopes() if s.builtin]
        request = ClientRequest(name=name, authorizedGrantType="CLIENT-CREDENTIALS",
                                roleIds=role_ids, scope=scopes)
        return await manage.create(caller, request.to_settings())

    issued = _run_in_transaction(work)
    if as_json:
        _out({"id": issued.client.id, "secret": issued.secret})
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

    for client in _run_in_transaction(work):
        grants = ",".join(str(g) for g in client.settings.grant_types)
        typer.echo(f"{client.id}  {client.settings.state:<8}  {grants:<22}  {client.settings.name}")


@clients_app.command("show")
def clients_show(client_id: str) -> None:
    """Show one client as JSON."""
    client = _run_in_transaction(lambda m, _conn, c: m.find(c, client_id))
    _out(client_json(client))


def _set_state(client_id: str, state: ClientState) -> None:
    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        client = await manage.find(caller, client_id)
        return await manage.update(caller, client_id, replace(client.settings, state=state,
                                                              date_to_delete=None))

    client = _run_in_transaction(work)
    typer.echo(f"{client.id} is now {client.settings.state}")


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
        added = await _role_in_division(SqlCatalog(conn), role, division)
        client = await manage.find(caller, client_id)
        if added in client.settings.role_divisions:
            return client
        return await manage.update(caller, client_id, replace(
            client.settings, role_divisions=(*client.settings.role_divisions, added)))

    client = _run_in_transaction(work)
    typer.echo(f"{client.id} holds {len(client.settings.role_divisions)} role grant(s)")


async def _role_in_division(catalog: SqlCatalog, role: str,
                            division: str | None) -> RoleDivision:
    """The named role in the named division (Home when None).

    Raises:
        InvalidInputError: no such role or division.
    """
    found = await catalog.role_by_name(role)
    if found is None:
        raise InvalidInputError.one("role", "unknown.role", f"no role named {role!r}")
    division_id = await catalog.home_division_id()
    if division is not None:
        named = [d.id for d in await catalog.divisions() if d.name == division]
        if not named:
            raise InvalidInputError.one("division", "unknown.division",
                                        f"no division named {division!r}")
        division_id = named[0]
    return RoleDivision(found.id, division_id)


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
    _run_in_transaction(lambda m, _conn, c: m.delete(c, client_id))
    typer.echo(f"{client_id} deleted")


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: str,
    dual_use_seconds: Annotated[int | None, typer.Option(
        help="Seconds the previous secret keeps working (0-604800)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate a new secret (printed once); the previous one works for the dual-use window."""
    window = Settings().default_dual_use_seconds if dual_use_seconds is None else dual_use_seconds
    issued = _run_in_transaction(
        lambda m, _conn, c: m.regenerate_secret(c, client_id, dual_use_seconds=window))
    if as_json:
        _out({"id": issued.client.id, "secret": issued.secret})
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
        _fail(f"cannot read {file} as JSON: {exc}")
    entries = raw.get("entities", raw) if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        _fail("the file must hold a JSON list of OAuthClient objects or an entity listing")

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

    for issued in _run_in_transaction(work):
        typer.echo(json.dumps({"name": issued.client.settings.name, "id": issued.client.id,
                               "secret": issued.secret}))


@users_app.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Option(help="The admin's e-mail (their sign-in name)")],
    name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (for scripts)")] = False,
) -> None:
    """Create a user holding Super Admin in the Home division; they enrol MFA at first sign-in."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> User:
        catalog = SqlCatalog(conn)
        role = await catalog.role_by_name(SUPER_ADMIN)
        if role is None:
            raise NotFoundError("the Super Admin role is missing; run `keystead init`")
        users = runtime.users(conn)
        user = await users.create(caller, name=name, email=email, password=password)
        await users.grant(caller, user.id, RoleDivision(role.id, await catalog.home_division_id()))
        return user

    user = _run_with_runtime(work)
    typer.echo(f"user {user.id} ({user.email}) holds {SUPER_ADMIN} in the Home division; "
               "they set up two-step verification when they first sign in")


@users_app.command("grant")
def users_grant(
    email: Annotated[str, typer.Option(help="The user's e-mail")],
    role: Annotated[str, typer.Option(help="The role's name")],
    division: Annotated[str | None, typer.Option(help="The division's name (default: Home)")]
    = None,
) -> None:
    """Give a user a role in a division, as the operator.

    In the console and the API an admin grants only roles they hold; this is how an operator
    gives the first admins the other roles (OAuth Admin, custom roles) to hand on.
    """

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> str:
        grant = await _role_in_division(SqlCatalog(conn), role, division)
        user = await SqlUserStore(conn).by_email(email.strip().lower())
        if user is None:
            raise NotFoundError(f"no user with e-mail {email}")
        await runtime.users(conn).grant(caller, user.id, grant)
        return user.email

    granted_to = _run_with_runtime(work)
    typer.echo(f"{granted_to} now holds {role} in {division or 'Home'}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key: published now, signing in 5 minutes, the old one kept until its
    last token expires."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> tuple[str, str]:
        key = generate_key(runtime.cipher)
        now = utc_now()
        retire = await SqlSigningKeys(conn).rotate(key, now=now)
        await SqlAuditLog(conn).append(AuditEvent(
            timestamp=now, actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action="key.rotate", entity_type="SigningKey",
            entity_id=key.kid, entity_name=key.kid, actor_divisions=caller.divisions,
            details={"previousRetireAfter": retire.isoformat()}))
        return key.kid, retire.isoformat()

    kid, retire = _run_with_runtime(work)
    typer.echo(f"new signing key {kid}: signs from {PUBLISH_DELAY} from now on every replica; "
               f"previous keys stay published until {retire}")


@keys_app.command("list")
def keys_list() -> None:
    """Every stored key: when it was made, until when it stays published."""

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> list[StoredKey]:
        return await SqlSigningKeys(conn).all()

    now = utc_now()
    keys = _run_with_runtime(work)
    if not keys:
        _fail("no signing key; run `keystead init`")
    for key in keys:
        state = "published" if key.retire_after is None or key.retire_after > now else "retired"
        until = f" until {key.retire_after.isoformat()}" if key.retire_after else ""
        typer.echo(f"{key.kid}  created {key.date_created.isoformat()}  {state}{until}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if an entry was edited or removed."""

    async def work(_m: ClientManagement, conn: AsyncConnection, _c: Caller) -> list[str]:
        return await verify_chain(SqlAuditLog(conn))

    problems = _run_in_transaction(work)
    if problems:
        for line in problems:
            typer.echo(f"BROKEN: {line}", err=True)
        raise typer.Exit(code=1)
    typer.echo("audit log intact")
