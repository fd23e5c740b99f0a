"""`keystead users ...`: users as the operator makes them (the first admins, grants, SAML links)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.output import Column, JsonOption, emit_one, emit_rows, field
from keystead.cli.run import run_with_runtime
from keystead.cli.user_backends import users_backend
from keystead.domain.errors import NotFoundError
from keystead.domain.identity_providers import IdentityProvider
from keystead.domain.permissions import SUPER_ADMIN
from keystead.domain.principal import Caller
from keystead.domain.users import User
from keystead.store.identity_providers import SqlIdentityProviderStore
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)


UserArgument = Annotated[str, typer.Argument(metavar="USER", help="The user's id or e-mail")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (for scripts)")]
USER_COLUMNS: list[Column] = [("ID", field("id")), ("EMAIL", field("email")),
                              ("STATE", field("state")), ("MFA", field("mfaEnrolled")),
                              ("NAME", field("name"))]


def _password(from_stdin: bool) -> str:
    """A new password: one line of standard input, or prompted twice (never argv)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _print_changed(changed: dict[str, Any], sentence: str, *, as_json: bool) -> None:
    """The changed user as JSON, or one sentence saying what changed."""
    if as_json:
        emit_one(changed, USER_COLUMNS, as_json=True)
    else:
        typer.echo(sentence)


@users_app.command("list")
def users_list(
    query: Annotated[str | None, typer.Option(
        "--query", metavar="TEXT", help="Only users whose name or e-mail holds TEXT")] = None,
    as_json: JsonOption = False,
) -> None:
    """List users (never a password)."""
    emit_rows(users_backend().search(query), USER_COLUMNS, as_json=as_json)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(metavar="EMAIL", help="Their sign-in name")],
    name: Annotated[str, typer.Option(metavar="TEXT", help="Display name")],
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user holding no role (give them one with `users grant`)."""
    user = users_backend().create(name=name, email=email, password=_password(password_stdin))
    emit_one(user, USER_COLUMNS, as_json=as_json)


@users_app.command("deactivate")
def users_deactivate(user: UserArgument, as_json: JsonOption = False) -> None:
    """Stop a user signing in (their sessions end); reversible through the API or console."""
    changed = users_backend().change(user, {"state": "inactive"})
    _print_changed(changed, f"{changed['email']} is now {changed['state']}", as_json=as_json)


@users_app.command("reset-mfa")
def users_reset_mfa(user: UserArgument, as_json: JsonOption = False) -> None:
    """Make a user enrol two-step verification again at their next sign-in (a lost phone)."""
    changed = users_backend().reset_mfa(user)
    _print_changed(changed, f"{changed['email']} enrols two-step verification at their next "
                            "sign-in", as_json=as_json)


@users_app.command("set-password")
def users_set_password(user: UserArgument, password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (prompted twice, or one line of standard input)."""
    changed = users_backend().change(user, {"password": _password(password_stdin)})
    typer.echo(f"{changed['email']} has a new password")


@users_app.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Option(metavar="EMAIL",
                                       help="The admin's e-mail (their sign-in name)")],
    name: Annotated[str, typer.Option(metavar="TEXT", help="Display name")] = "Administrator",
    role: Annotated[list[str] | None, typer.Option(
        metavar="ROLE…", help=f"A role to hold in the Home division; repeat for several "
                              f"(default: {SUPER_ADMIN}; e.g. \"OAuth Admin\" for least "
                              "privilege)")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an admin user holding ROLEs in the Home division; they enrol MFA at first
    sign-in."""
    roles = role or [SUPER_ADMIN]
    password = _password(password_stdin)
    user = users_backend().create_admin(name=name, email=email, password=password, roles=roles)
    typer.echo(f"user {user['id']} ({user['email']}) holds {', '.join(roles)} in the Home "
               "division; they set up two-step verification when they first sign in")


@users_app.command("grant")
def users_grant(
    email: Annotated[str, typer.Option(metavar="EMAIL", help="The user's e-mail")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="The role's name")],
    division: Annotated[str | None, typer.Option(
        metavar="DIVISION", help="The division's name (default: Home)")] = None,
) -> None:
    """Give a user a role in a division.

    In the console and the API an admin grants only roles they hold; locally the operator
    gives the first admins the other roles (OAuth Admin, custom roles) to hand on.
    """
    granted = users_backend().grant(email, role=role, division=division)
    typer.echo(f"{granted['email']} now holds {role} in {division or 'Home'}")


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

