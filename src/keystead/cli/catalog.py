"""`keystead scopes|roles|divisions …`: the catalogue clients and users are granted from.

Each command is written once: locally it calls the organisation use cases as the operator,
remotely the same API resource; both print the API's JSON (or a table of it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.output import Column, JsonOption, emit_one, emit_rows, field
from keystead.cli.remote import api
from keystead.cli.run import run_with_runtime
from keystead.domain.organization import Division, Role, Scope
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
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _Listed(Protocol[T_co]):
    """What scopes, roles and divisions management all offer: every one, and one by id."""

    async def list(self, caller: Caller) -> Sequence[T_co]: ...

    async def find(self, caller: Caller, item_id: str, /) -> T_co: ...


def _either(local: Local, method: str, path: str, body: Any = None) -> Any:
    """Run ``local`` on the store, or call ``method path`` on the API."""
    remote = api()
    if remote is not None:
        if method == "GET" and body is None and path in (SCOPES, ROLES, DIVISIONS):
            return remote.every(path)
        return remote.call(method, path, body=body)
    return run_with_runtime(local)


@dataclass(frozen=True, slots=True)
class _Resource(Generic[T]):
    """One catalogue resource: its API path, use cases and JSON, for list, show and create."""

    path: str
    management: Callable[[Runtime, AsyncConnection], _Listed[T]]
    present: Callable[[T], dict[str, Any]]

    def every(self) -> Any:
        async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            return [self.present(item)
                    for item in await self.management(runtime, conn).list(caller)]

        return _either(local, "GET", self.path)

    def one(self, item_id: str) -> Any:
        async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            return self.present(await self.management(runtime, conn).find(caller, item_id))

        return _either(local, "GET", f"{self.path}/{item_id}")

    def create(self, make: Callable[[Runtime, AsyncConnection, Caller], Awaitable[T]],
               body: dict[str, Any]) -> Any:
        async def local(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            return self.present(await make(runtime, conn, caller))

        return _either(local, "POST", self.path, body)


_SCOPES = _Resource(SCOPES, lambda runtime, conn: runtime.scopes(conn), scope_json)
_ROLES = _Resource(ROLES, lambda runtime, conn: runtime.roles(conn), role_json)
_DIVISIONS = _Resource(DIVISIONS, lambda runtime, conn: runtime.divisions(conn),
                     division_json)

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
    emit_rows(_SCOPES.every(), SCOPE_COLUMNS, as_json=as_json)


@scopes_app.command("show")
def scopes_show(scope_id: Annotated[str, typer.Argument(metavar="SCOPE")],
                as_json: JsonOption = False) -> None:
    """One scope."""
    emit_one(_SCOPES.one(scope_id), SCOPE_COLUMNS, as_json=as_json)


@scopes_app.command("create")
def scopes_create(
    scope_id: Annotated[str, typer.Argument(metavar="SCOPE", help="e.g. billing:read")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    resource_server: Annotated[str | None, typer.Option(
        metavar="URI", help="The API tokens for this scope are for (their aud)")] = None,
    as_json: JsonOption = False,
) -> None:
    """A custom scope for your own API."""
    async def make(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Scope:
        return await runtime.scopes(conn).create(
            caller, scope_id=scope_id, description=description, resource_server=resource_server)

    body = {"id": scope_id, "description": description, "resourceServer": resource_server}
    emit_one(_SCOPES.create(make, body), SCOPE_COLUMNS, as_json=as_json)


@roles_app.command("list")
def roles_list(as_json: JsonOption = False) -> None:
    """Every role, with how many permissions it grants."""
    emit_rows(_ROLES.every(), ROLE_COLUMNS, as_json=as_json)


@roles_app.command("show")
def roles_show(role_id: Annotated[str, typer.Argument(metavar="ROLE-ID")],
               as_json: JsonOption = False) -> None:
    """One role and its permissions."""
    emit_one(_ROLES.one(role_id), ROLE_FIELDS, as_json=as_json)


@roles_app.command("create")
def roles_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="The role's name")],
    permission: Annotated[list[str], typer.Option(
        metavar="PERMISSION…", help="domain:entity:action, e.g. oauth:client:view; repeat")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    as_json: JsonOption = False,
) -> None:
    """A custom role (remotely: only with permissions the signed-in client holds)."""
    async def make(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Role:
        return await runtime.roles(conn).create(
            caller, name=name, description=description, permissions=permission)

    body = {"name": name, "description": description, "permissions": permission}
    emit_one(_ROLES.create(make, body), ROLE_FIELDS, as_json=as_json)


@divisions_app.command("list")
def divisions_list(as_json: JsonOption = False) -> None:
    """Every division (Home first is not promised: sort by NAME yourself)."""
    emit_rows(_DIVISIONS.every(), DIVISION_COLUMNS, as_json=as_json)


@divisions_app.command("show")
def divisions_show(division_id: Annotated[str, typer.Argument(metavar="DIVISION-ID")],
                   as_json: JsonOption = False) -> None:
    """One division."""
    emit_one(_DIVISIONS.one(division_id), DIVISION_COLUMNS, as_json=as_json)


@divisions_app.command("create")
def divisions_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="The division's name")],
    description: Annotated[str, typer.Option(metavar="TEXT")] = "",
    as_json: JsonOption = False,
) -> None:
    """A new division."""
    async def make(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Division:
        return await runtime.divisions(conn).create(caller, name=name, description=description)

    body = {"name": name, "description": description}
    emit_one(_DIVISIONS.create(make, body), DIVISION_COLUMNS, as_json=as_json)
