"""The ``keystead`` command: thin commands over the same use cases the API calls."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.config import ISSUER_VARIABLE, WILDCARD_HOSTS, Settings, serve_issuer
from keystead.domain.audit import AuditEvent
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import ClientFilter, ClientState, RoleDivision, TokenEndpointAuthMethod
from keystead.domain.errors import DomainError, InvalidInputError, NotFoundError
from keystead.domain.identity_providers import IdentityProvider
from keystead.domain.keyring import KEY_ID_SHAPE, KeyRing, Purpose
from keystead.domain.paging import Page
from keystead.domain.permissions import SUPER_ADMIN
from keystead.domain.principal import Caller, operator
from keystead.domain.secrets import resealed, sealed_by
from keystead.domain.users import User
from keystead.log_setup import configure_logging, uvicorn_log_config
from keystead.protocol.keys import PUBLISH_DELAY, StoredKey, generate_key, key_cipher
from keystead.store.audit import SqlAuditLog, verify_chain
from keystead.store.backup import BackupError, backup_sqlite
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore
from keystead.store.database import create_engine, sqlite_path
from keystead.store.divisions import SqlDivisionStore
from keystead.store.health import DatabaseProbe
from keystead.store.identity_providers import SqlIdentityProviderStore
from keystead.store.key_ring import Resealed, SqlKeyRingStore
from keystead.store.keys import SqlSigningKeys
from keystead.store.migrate import head_revision, upgrade
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.store.seed import seed
from keystead.store.users import SqlUserStore
from keystead.web.presenters import client_json
from keystead.web.readiness import Readiness
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
ring_app = typer.Typer(help="The server key ring (KEYSTEAD_SECRET_KEYS): digests, opaque tokens, "
                            "values encrypted at rest.", no_args_is_help=True)
app.add_typer(ring_app, name="secret-keys")
T = TypeVar("T")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
serve_log = logging.getLogger("keystead.serve")
WORKER_STARTUP_SECONDS = 60


@app.callback()
def _check_settings() -> None:
    """Refuse to start on malformed settings with the rule broken, never a traceback."""
    try:
        Settings()
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: invalid setting: {where} {message}" if where
                       else f"error: {message}", err=True)
        raise typer.Exit(code=1) from None


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
        cipher = key_cipher(settings.key_ring())
        try:
            async with engine.begin() as conn:
                return await seed(conn, now=utc_now(), make_key=lambda: generate_key(cipher))
        finally:
            await engine.dispose()

    added = asyncio.run(main())
    typer.echo(f"database ready ({len(added)} built-ins added)")


@app.command()
def backup(destination: Annotated[Path, typer.Argument(help="a new file for the copy")],
           as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")]
           = False) -> None:
    """Copy the embedded SQLite database to a new file while the server keeps serving.

    For PostgreSQL use pg_dump (README, "Backups and restores"). The copy does not hold the
    server key: keep KEYSTEAD_SECRET_KEY (or data_dir/secret.key) backed up apart from it.
    """
    settings = Settings()
    source = sqlite_path(settings.resolved_database_url)
    if source is None:
        _fail("`keystead backup` copies the embedded SQLite store; for PostgreSQL run "
              "pg_dump --format=custom (see the README's \"Backups and restores\")")
        return
    try:
        report = backup_sqlite(source, destination,
                               busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
    except BackupError as exc:
        _fail(str(exc))
        return
    if as_json:
        _out({"destination": str(report.destination), "schemaRevision": report.schema_revision,
              "bytes": report.bytes_written, "clients": report.clients,
              "auditEvents": report.audit_events})
    else:
        typer.echo(f"backed up to {report.destination}: schema {report.schema_revision}, "
                   f"{report.clients} clients, {report.audit_events} audit entries, "
                   f"{report.bytes_written:,} bytes")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: Annotated[str | None, typer.Option(
              help="Overrides KEYSTEAD_LOG_LEVEL (default INFO).")] = None) -> None:
    """Serve the API and the protocol endpoints.

    The issuer (and so every URL discovery advertises) is KEYSTEAD_ISSUER, or else
    http://HOST:PORT: where this server listens. Logs go to stderr as JSON lines (text on a
    terminal; KEYSTEAD_LOG_FORMAT=auto|json|text), one access line per request at INFO.
    uvicorn's own access log stays off: it prints the query string, which can hold an
    authorization code.
    """
    try:
        settings = Settings() if log_level is None else Settings(log_level=log_level)
    except ValidationError as exc:
        _fail(f"invalid setting: {exc.errors()[0]['loc'][0]} {exc.errors()[0]['msg']}")
        raise  # unreachable: _fail exits
    # The workers build their own Settings from the environment.
    os.environ["KEYSTEAD_LOG_LEVEL"] = settings.log_level
    configure_logging(settings.log_level, settings.log_format)
    issuer, configured = serve_issuer(host, port)
    if not configured:
        # The workers build their settings from the environment: hand them the issuer there.
        os.environ[ISSUER_VARIABLE] = issuer
        if host.strip("[]") in WILDCARD_HOSTS:
            serve_log.warning("listening on every interface, the issuer is %s; set %s to the "
                              "URL clients use to reach this server", issuer, ISSUER_VARIABLE)
    serve_log.info("issuer: %s", issuer)
    # X-Forwarded-For is believed only from the configured proxies, walked from the right
    # (uvicorn's ProxyHeadersMiddleware): the address throttling and the audit log see.
    trusted = settings.trusted_proxies.strip()
    # Several workers count metrics into files in one directory, which every worker must know
    # before it first imports prometheus_client: a fresh one per run (stale files would count
    # again), unless the operator chose one.
    own_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="keystead-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    # A worker that has not started within uvicorn's health-check timeout (5 s by default) is
    # killed and replaced, for ever, on a loaded host: give start-up more time where supported.
    patience: dict[str, Any] = (
        {"timeout_worker_healthcheck": WORKER_STARTUP_SECONDS}
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters else {})
    try:
        uvicorn.run("keystead.web.asgi:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level=settings.log_level.lower(),
                    access_log=False,
                    log_config=uvicorn_log_config(settings.log_level, settings.log_format),
                    proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
                    **patience)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


@app.command()
def health(
    url: Annotated[str, typer.Option(help="The server to ask")] = "http://127.0.0.1:8000",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for its answer")] = 5.0,
) -> None:
    """Ask a running server whether it is ready (GET /health/ready) and print its report.

    Exit status 0: ready; 1: not ready (the report says why); 2: the server did not answer, and
    the report holds what this command could check itself (database, schema, signing key,
    Redis; not the server's background loops).
    """
    status, report = _ask_ready(url.rstrip("/") + "/health/ready", timeout)
    if report is None:
        report = asyncio.run(local_readiness())
        report["problems"].insert(0, f"server: no answer at {url} ({status})")
        report["status"] = "unreachable"
        _out(report)
        raise typer.Exit(code=2)
    _out(report)
    raise typer.Exit(code=0 if status == "200" else 1)


def _ask_ready(url: str, timeout: float) -> tuple[str, dict[str, Any] | None]:
    """The status and JSON body of GET ``url``; (reason, None) when nothing usable came back."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL", None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - scheme checked
            return str(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            return str(exc.code), json.loads(exc.read())
        except ValueError:
            return f"HTTP {exc.code}", None
    except (OSError, ValueError) as exc:
        return type(exc).__name__, None


async def local_readiness() -> dict[str, Any]:
    """The checks this process can make itself, from the same settings the server reads."""
    settings = Settings().with_secret_key()
    probe = DatabaseProbe(settings.resolved_database_url,
                          timeout=settings.readiness_timeout_seconds)
    redis_url = settings.redis_url.get_secret_value()
    redis_client = Redis.from_url(redis_url, socket_timeout=settings.readiness_timeout_seconds,
                                  socket_connect_timeout=settings.readiness_timeout_seconds
                                  ) if redis_url else None
    has_key = False
    try:
        runtime = await build_runtime(settings)
    except NotInitialisedError:
        pass
    else:
        has_key = runtime.has_signing_key
        await runtime.close()
    try:
        report = await Readiness(
            probe=probe, expected_revision=head_revision(), signing_key_loaded=lambda: has_key,
            loops=[], redis_ping=redis_client.ping if redis_client is not None else None,
            timeout=settings.readiness_timeout_seconds).report()
    finally:
        await probe.close()
        if redis_client is not None:
            await redis_client.aclose()
    body = report.body()
    del body["checks"]["loops"]
    return body


@app.command("bootstrap-client")
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


@clients_app.command("set-auth-method")
def clients_set_auth_method(client_id: str, method: TokenEndpointAuthMethod) -> None:
    """Set how a client authenticates at the token endpoint (after upgrading, for a client that
    sends its secret in the form body: client_secret_post)."""

    async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
        client = await manage.find(caller, client_id)
        return await manage.update(caller, client_id, replace(
            client.settings, token_endpoint_auth_method=method))

    client = _run_in_transaction(work)
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
        added = await _role_in_division(conn, role, division)
        client = await manage.find(caller, client_id)
        if added in client.settings.role_divisions:
            return client
        return await manage.update(caller, client_id, replace(
            client.settings, role_divisions=(*client.settings.role_divisions, added)))

    client = _run_in_transaction(work)
    typer.echo(f"{client.id} holds {len(client.settings.role_divisions)} role grant(s)")


async def _role_in_division(conn: AsyncConnection, role: str,
                            division: str | None) -> RoleDivision:
    """The named role in the named division (Home when None).

    Raises:
        InvalidInputError: no such role or division.
    """
    found = await SqlRoleStore(conn).by_name(role)
    if found is None:
        raise InvalidInputError.one("role", "unknown.role", f"no role named {role!r}")
    division_id = await SqlCatalog(conn).home_division_id()
    if division is not None:
        named = await SqlDivisionStore(conn).by_name(division)
        if named is None:
            raise InvalidInputError.one("division", "unknown.division",
                                        f"no division named {division!r}")
        division_id = named.id
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
        role = await SqlRoleStore(conn).by_name(SUPER_ADMIN)
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
        grant = await _role_in_division(conn, role, division)
        user = await SqlUserStore(conn).by_email(email.strip().lower())
        if user is None:
            raise NotFoundError(f"no user with e-mail {email}")
        await runtime.users(conn).grant(caller, user.id, grant)
        return user.email

    granted_to = _run_with_runtime(work)
    typer.echo(f"{granted_to} now holds {role} in {division or 'Home'}")


async def _user_and_provider(conn: AsyncConnection, email: str,
                             provider: str) -> tuple[User, IdentityProvider]:
    user = await SqlUserStore(conn).by_email(email.strip().lower())
    if user is None:
        raise NotFoundError(f"no user with e-mail {email}")
    providers = SqlIdentityProviderStore(conn)
    found = await providers.find(provider) or await providers.by_issuer(provider)
    if found is None:
        raise NotFoundError(f"no identity provider with id or issuer URI {provider}")
    return user, found


@users_app.command("link-idp")
def users_link_idp(
    email: Annotated[str, typer.Option(help="The user's e-mail")],
    provider: Annotated[str, typer.Option(help="The identity provider's id or issuer URI")],
    name_id: Annotated[str, typer.Option(
        "--name-id", help="The NameID the provider sends for this user, exactly")],
) -> None:
    """Let an identity provider assert a user (SAML2 bearer) under one NameID; audited.

    A provider asserts only the users linked to it: an e-mail or external id in its NameID
    names nobody without a link.
    """

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> str:
        user, found = await _user_and_provider(conn, email, provider)
        await runtime.identity_links(conn).link(caller, user.id, found.id, name_id)
        return f"{user.email} is linked to {found.settings.name} as {name_id}"

    typer.echo(_run_with_runtime(work))


@users_app.command("unlink-idp")
def users_unlink_idp(
    email: Annotated[str, typer.Option(help="The user's e-mail")],
    provider: Annotated[str, typer.Option(help="The identity provider's id or issuer URI")],
) -> None:
    """The identity provider may no longer assert the user; audited."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> str:
        user, found = await _user_and_provider(conn, email, provider)
        await runtime.identity_links(conn).unlink(caller, user.id, found.id)
        return f"{user.email} is no longer linked to {found.settings.name}"

    typer.echo(_run_with_runtime(work))


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


@ring_app.command("new")
def ring_new(key_id: Annotated[str, typer.Option(
        "--id", help="The new key's id: 1 to 16 letters or digits (random when left out)")] = "",
) -> None:
    """Print a new ``kid:key`` entry for KEYSTEAD_SECRET_KEYS (see README: rotating the key)."""
    kid = key_id or secrets.token_hex(4)
    if not KEY_ID_SHAPE.fullmatch(kid):
        _fail("--id must be 1 to 16 letters or digits")
    typer.echo(f"{kid}:{secrets.token_urlsafe(48)}")


def _ring_label(ring: KeyRing, kid: str | None) -> str:
    key = ring.find(kid)
    if key is None:
        return f"{kid or 'former single key'} (NOT IN THE RING: these stop working)"
    role = "current" if key is ring.current else "older"
    return f"{key.kid} ({role}{', former single key' if key.legacy else ''})"


@ring_app.command("status")
def ring_status() -> None:
    """The ring, and what each key still keys: client secrets, signing keys, TOTP secrets.

    An older key may leave the ring once nothing here names it and its tokens, codes, refresh
    tokens and console sessions have expired (README: rotating the server key)."""
    ring = Settings().with_secret_key().key_ring()

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> tuple[
            dict[str | None, int], list[str], list[str]]:
        store = SqlKeyRingStore(conn)
        return await store.secret_key_ids(), *await store.sealed()

    by_kid, signing, totp = _run_with_runtime(work)
    for key in ring.keys:
        typer.echo(f"key {_ring_label(ring, key.kid)}")
    for kid, count in sorted(by_kid.items(), key=lambda kv: kv[0] or ""):
        typer.echo(f"client secrets under {_ring_label(ring, kid)}: {count}")
    for what, values, purpose in (("signing keys", signing, Purpose.signing_key_cipher),
                                  ("TOTP secrets", totp, Purpose.at_rest)):
        counts: dict[str | None, int] = {}
        for value in values:
            kid = sealed_by(ring, purpose, value)
            counts[kid] = counts.get(kid, 0) + 1
        for kid, count in counts.items():
            where = _ring_label(ring, kid) if kid else "no key of the ring (unreadable)"
            typer.echo(f"{what} encrypted under {where}: {count}")


@ring_app.command("reseal")
def ring_reseal() -> None:
    """Encrypt every signing key and TOTP secret again under the current ring key, so an older
    key can leave the ring without making them unreadable."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Resealed:
        done = await SqlKeyRingStore(conn).reseal(
            signing_key=lambda v: resealed(runtime.cipher, v), totp_secret=runtime.box.reseal)
        await SqlAuditLog(conn).append(AuditEvent(
            timestamp=utc_now(), actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action="secret-key.reseal", entity_type="ServerKey",
            entity_id=runtime.digester.current_kid, entity_name=runtime.digester.current_kid,
            details={"signingKeys": done.signing_keys, "totpSecrets": done.totp_secrets,
                     "unreadable": done.unreadable}))
        return done

    done = _run_with_runtime(work)
    typer.echo(f"re-encrypted under the current key: {done.signing_keys} signing keys, "
               f"{done.totp_secrets} TOTP secrets")
    if done.unreadable:
        _fail(f"{done.unreadable} values are encrypted under no key of the ring: put the key "
              "that made them back in the ring and run this again")


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
