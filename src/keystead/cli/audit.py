"""`keystead audit ...`: the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import run_in_transaction
from keystead.domain.audit import Auditor, Entity, Result
from keystead.domain.client_management import ClientManagement
from keystead.domain.principal import Caller
from keystead.store.audit import SqlAuditLog, verify_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if an entry was edited or removed (and record
    the failure in the log, where the audit-chain-broken alert picks it up)."""

    async def work(_m: ClientManagement, conn: AsyncConnection, caller: Caller) -> list[str]:
        log = SqlAuditLog(conn)
        problems = await verify_chain(log)
        if problems:
            await Auditor(log, lambda: datetime.now(UTC)).record(
                caller, "audit.verify", Entity("AuditLog", "audit-log", "Audit log"),
                {"problems": len(problems), "first": problems[0]}, result=Result.failure)
        return problems

    problems = run_in_transaction(work)
    if problems:
        for line in problems:
            typer.echo(f"BROKEN: {line}", err=True)
        raise typer.Exit(code=1)
    typer.echo("audit log intact")
