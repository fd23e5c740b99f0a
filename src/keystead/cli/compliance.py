"""`keystead governance compliance`: the compliance report, judged now, as the operator."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, run_with_runtime
from keystead.domain.governance.compliance import ComplianceReport
from keystead.domain.principal import Caller
from keystead.web.compliance_report import report_csv, report_json
from keystead.web.runtime import Runtime


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def compliance(
    output: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:
    """Judge every control (HIPAA, PCI-DSS, SOC 2, GDPR) now; exit 1 when any fails."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> ComplianceReport:
        return await runtime.compliance(conn).report(caller)

    report = run_with_runtime(work)
    if output is Format.json:
        out(report_json(report))
    elif output is Format.csv:
        typer.echo(report_csv(report), nl=False)
    else:
        for c in report.controls:
            typer.echo(f"{'PASS' if c.passed else 'FAIL'}  {c.regime:<8} {c.title}: {c.evidence}")
    if not report.passed:
        raise typer.Exit(code=1)
