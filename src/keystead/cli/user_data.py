"""`keystead users export|erase`: a data subject's rights from the command line (as the operator,
audited as ``cli``), registered on the `keystead users` group by ``cli/__init__.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import fail, run_with_runtime
from keystead.domain.audit import JSONValue
from keystead.domain.errors import NotFoundError
from keystead.domain.principal import Caller
from keystead.domain.subject_rights import Erasure
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime

UserArgument = Annotated[str, typer.Argument(help="The user's id or e-mail", show_default=False)]


async def _user_id(conn: AsyncConnection, user: str) -> str:
    store = SqlUserStore(conn)
    found = await store.by_email(user.strip().lower()) if "@" in user else await store.find(user)
    if found is None:
        raise NotFoundError(f"no user with id or e-mail {user}")
    return found.id


def users_export(
    user: UserArgument,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the JSON to this file (created readable by you only)")] = None,
) -> None:
    """Everything Keystead holds about a user, as JSON (profile, roles, sessions,
    authorizations, owned clients, audit entries by and about them)."""

    async def work(runtime: Runtime, conn: AsyncConnection,
                   caller: Caller) -> dict[str, JSONValue]:
        rights = runtime.subject_rights(conn)
        return await rights.export(caller, await _user_id(conn, user))

    text = json.dumps(run_with_runtime(work), indent=2)
    if out is None:
        typer.echo(text)
        return
    out.touch(mode=0o600)  # personal data: not for the other users of this machine
    out.write_text(text + "\n")
    typer.echo(f"wrote {out}")


def users_erase(
    user: UserArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone")] = False,
) -> None:
    """Remove a user and pseudonymise every record naming them, the audit log included (which
    still verifies)."""
    if not yes:
        fail("erasure cannot be undone: add --yes to erase this user")

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Erasure:
        rights = runtime.subject_rights(conn)
        return await rights.erase(caller, await _user_id(conn, user))

    erasure = run_with_runtime(work)
    typer.echo(f"erased: the user is now {erasure.pseudonym} in "
               f"{erasure.audit_entries} audit entr{'y' if erasure.audit_entries == 1 else 'ies'}")
