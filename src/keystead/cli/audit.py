"""`keystead audit ...`: the audit log."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import run_in_transaction
from keystead.domain.client_management import ClientManagement
from keystead.domain.principal import Caller
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_verify import verify_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if an entry was edited or removed."""

    async def work(_m: ClientManagement, conn: AsyncConnection, _c: Caller) -> list[str]:
        return await verify_chain(SqlAuditLog(conn))

    problems = run_in_transaction(work)
    if problems:
        for line in problems:
            typer.echo(f"BROKEN: {line}", err=True)
        raise typer.Exit(code=1)
    typer.echo("audit log intact")
