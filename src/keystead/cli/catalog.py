"""`keystead scopes|roles|divisions …`: the catalogue clients and users are granted from.

Each command is written once: locally it calls the organisation use cases as the operator,
remotely the same API resource; both print the API's JSON (or a table of it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.output import Column, JsonOption, emit_one, emit_rows, field
from keystead.cli.remote import api
from keystead.cli.run import run_with_runtime
from keystead.domain.principal import Caller
from keystead.web.presenters import division_json, role_json, scope_json
from keystead.web.runtime import Runtime

SCOPES = "/api/v2/oauth/scopes"
ROLES = "/api/v2/authorization/roles"
DIVISIONS = "/api/v2/authorization/divisions"

scopes_app = typer.Typer(help="OAuth scopes: the built-ins and your own APIs'.",
                         no_args_is_help=True)
roles_app = typer.Typer(help="Roles: named sets of permissions.", no_args_is_help=True)
divisions_app = typer.Typer(help="Divisions: where roles are held.", no_args_is_help=True)

Local = Callable[[Runtime, AsyncConnection, Caller], Awaitable[Any]]


def _either(local: Local, method: str, path: str, body: Any = None) -> Any:
    """Run ``local`` on the store, or call ``method path`` on the API."""
    remote = api()
    if remote is not None:
        if method == "GET" and body is None and path in (SCOPES, ROLES, DIVISIONS):
            return remote.every(path)
        return remote.call(method, path, body=body)
    return run_with_runtime(local)


SCOPE_COLUMNS: list[Column] = [("ID", field("id")), ("BUILTIN", field("builtin")),
                               ("RESOURCE SERVER", field("resourceServer")),
                               ("DESCRIPTION", field("description"))]
ROLE_COLUMNS: list[Column] = [("ID", field("id")), ("NAME", field("name")),
                              ("BUILTIN", field("base")),
                              ("PERMISSIONS", lambda r: len(r.get("permissions") or []))]
ROLE_FIELDS: list[Column] = [*ROLE_COLUMNS[:3], ("DESCRIPTION", field("description")),
                             ("PERMISSIONS", field("permissions"))]
DIVISION_COLUMNS: list[Column] = [("ID", field("id")), ("NAME", field("name")),
                                  ("HOME", field("homeDivision")),
                                  ("DESCRIPTION", field("description"))]


@scopes_app.command("list")
def scopes_list(as_json: JsonOption = False) -> None:
    """Every scope a client may be given."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return [scope_json(s) for s in await runtime.scopes(conn).list(caller)]

    emit_rows(_either(local, "GET", SCOPES), SCOPE_COLUMNS, as_json=as_json)


@scopes_app.command("show")
def scopes_show(scope_id: Annotated[str, typer.Argument(metavar="SCOPE")],
                as_json: JsonOption = False) -> None:
    """One scope."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return scope_json(await runtime.scopes(conn).find(caller, scope_id))

    emit_one(_either(local, "GET", f"{SCOPES}/{scope_id}"), SCOPE_COLUMNS, as_json=as_json)


@scopes_app.command("create")
def scopes_create(
    scope_id: Annotated[str, typer.Argument(metavar="SCOPE", help="e.g. billing:read")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    resource_server: Annotated[str | None, typer.Option(
        metavar="URI", help="The API tokens for this scope are for (their aud)")] = None,
    as_json: JsonOption = False,
) -> None:
    """A custom scope for your own API."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return scope_json(await runtime.scopes(conn).create(
            caller, scope_id=scope_id, description=description, resource_server=resource_server))

    body = {"id": scope_id, "description": description, "resourceServer": resource_server}
    emit_one(_either(local, "POST", SCOPES, body), SCOPE_COLUMNS, as_json=as_json)


@roles_app.command("list")
def roles_list(as_json: JsonOption = False) -> None:
    """Every role, with how many permissions it grants."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return [role_json(r) for r in await runtime.roles(conn).list(caller)]

    emit_rows(_either(local, "GET", ROLES), ROLE_COLUMNS, as_json=as_json)


@roles_app.command("show")
def roles_show(role_id: Annotated[str, typer.Argument(metavar="ROLE-ID")],
               as_json: JsonOption = False) -> None:
    """One role and its permissions."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return role_json(await runtime.roles(conn).find(caller, role_id))

    emit_one(_either(local, "GET", f"{ROLES}/{role_id}"), ROLE_FIELDS, as_json=as_json)


@roles_app.command("create")
def roles_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="The role's name")],
    permission: Annotated[list[str], typer.Option(
        metavar="PERMISSION…", help="domain:entity:action, e.g. oauth:client:view; repeat")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    as_json: JsonOption = False,
) -> None:
    """A custom role (remotely: only with permissions the signed-in client holds)."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return role_json(await runtime.roles(conn).create(
            caller, name=name, description=description, permissions=permission))

    body = {"name": name, "description": description, "permissions": permission}
    emit_one(_either(local, "POST", ROLES, body), ROLE_FIELDS, as_json=as_json)


@divisions_app.command("list")
def divisions_list(as_json: JsonOption = False) -> None:
    """Every division (Home first is not promised: sort by NAME yourself)."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return [division_json(d) for d in await runtime.divisions(conn).list(caller)]

    emit_rows(_either(local, "GET", DIVISIONS), DIVISION_COLUMNS, as_json=as_json)


@divisions_app.command("show")
def divisions_show(division_id: Annotated[str, typer.Argument(metavar="DIVISION-ID")],
                   as_json: JsonOption = False) -> None:
    """One division."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return division_json(await runtime.divisions(conn).find(caller, division_id))

    emit_one(_either(local, "GET", f"{DIVISIONS}/{division_id}"), DIVISION_COLUMNS,
             as_json=as_json)


@divisions_app.command("create")
def divisions_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="The division's name")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    as_json: JsonOption = False,
) -> None:
    """A new division."""
    async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return division_json(await runtime.divisions(conn).create(
            caller, name=name, description=description))

    body = {"name": name, "description": description}
    emit_one(_either(local, "POST", DIVISIONS, body), DIVISION_COLUMNS, as_json=as_json)
