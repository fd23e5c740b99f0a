"""`keystead users ...`: users as the operator makes them (the first admins, grants, SAML links)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.grants import role_in_division
from keystead.cli.run import run_with_runtime
from keystead.domain.clients import RoleDivision
from keystead.domain.errors import NotFoundError
from keystead.domain.identity_providers import IdentityProvider
from keystead.domain.permissions import SUPER_ADMIN
from keystead.domain.principal import Caller
from keystead.domain.users import User
from keystead.store.catalog import SqlCatalog
from keystead.store.identity_providers import SqlIdentityProviderStore
from keystead.store.roles import SqlRoleStore
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)


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

    user = run_with_runtime(work)
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
        grant = await role_in_division(conn, role, division)
        user = await SqlUserStore(conn).by_email(email.strip().lower())
        if user is None:
            raise NotFoundError(f"no user with e-mail {email}")
        await runtime.users(conn).grant(caller, user.id, grant)
        return user.email

    granted_to = run_with_runtime(work)
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

    typer.echo(run_with_runtime(work))


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

    typer.echo(run_with_runtime(work))

