"""`keystead audit ...`: the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.remote import api
from keystead.cli.run import run_in_transaction
from keystead.config import Settings
from keystead.domain.audit import Auditor, Entity, Result
from keystead.domain.client_management import ClientManagement
from keystead.domain.principal import Caller
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_archive import verify_archive
from keystead.store.audit_verify import check_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    archive: Annotated[list[Path] | None, typer.Option(
        "--archive", help="Also check this archive file (its signature and chain); repeat for "
                          "several, oldest first, to check they follow each other")] = None,
) -> None:
    """Check the audit log's hash chain; say how many entries it checked; exit 1 if an entry was
    edited or removed (and record the failure in the log, where the audit-chain-broken alert
    picks it up). Local mode only: the chain is checked on the store itself, not on what a
    server says it holds."""
    if api() is not None:
        stop("audit verify checks the store itself: run it locally, on a host with the "
             "server's settings (without --server or --profile)", exit_codes.USAGE)

    async def work(management: ClientManagement, conn: AsyncConnection, caller: Caller
                   ) -> tuple[list[str], int]:
        log = SqlAuditLog(conn)
        walked = await check_chain(log)  # one walk: the breaks and the count
        problems = walked.problems
        if problems:
            await Auditor(log, management.clock).record(
                caller, "audit.verify", Entity("AuditLog", "audit-log", "Audit log"),
                {"problems": len(problems), "first": problems[0]}, result=Result.failure)
        return problems, walked.checked

    problems, checked = run_in_transaction(work)
    if archive:
        problems += _verify_archives(archive)
    if problems:
        for line in problems:
            typer.echo(f"BROKEN: {line}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"audit log intact: {checked} entries checked"
               + (f" (and {len(archive)} archive file(s))" if archive else ""))


def _verify_archives(paths: list[Path]) -> list[str]:
    ring = Settings().with_secret_key().key_ring()
    problems: list[str] = []
    previous = None
    for path in paths:
        check = verify_archive(path, ring)
        problems += check.problems
        if previous is not None and check.start is not None and (
                (check.start.seq, check.start.hash) != (previous.seq, previous.hash)):
            problems.append(f"{path}: does not start where the archive before it ends "
                            f"(entry {previous.seq})")
        previous = check.end
    return problems
