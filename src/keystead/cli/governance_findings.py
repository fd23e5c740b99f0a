"""`keystead governance findings ...`: evaluate, list, archive, unarchive and fix findings as
the operator (audited as ``cli``), with the API's JSON shapes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import every_page, out, run_with_runtime
from keystead.domain.governance.finding_engine import describe_evaluation
from keystead.domain.governance.findings import finding_filter
from keystead.domain.principal import Caller
from keystead.web.api.governance.findings import finding_json
from keystead.web.runtime import Runtime

findings_app = typer.Typer(help="Findings: what governance found wrong with each client.",
                           no_args_is_help=True)


@findings_app.command("list")
def findings_list(
    client_id: Annotated[str | None, typer.Option(help="Only this client's findings")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. unused-client")] = None,
    state: Annotated[str | None, typer.Option(help="active, resolved or archived")] = None,
) -> None:
    """Print the findings as a JSON list, worst first."""
    wanted = {name: value for name, value in
              (("clientId", client_id), ("kind", kind), ("state", state)) if value}

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> list[Any]:
        flt = finding_filter(wanted)
        findings = runtime.findings(conn)
        return await every_page(lambda page: findings.search(caller, flt, page), finding_json)

    out(run_with_runtime(work))


@findings_app.command("evaluate")
def findings_evaluate(
    client_id: Annotated[str | None, typer.Option(help="Only this client (default: all)")] = None,
) -> None:
    """Evaluate now; print how many clients were evaluated, findings opened and resolved."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        done = await runtime.findings(conn).evaluate(
            caller, client_ids=None if client_id is None else [client_id])
        return describe_evaluation(done)

    out(run_with_runtime(work))


@findings_app.command("archive")
def findings_archive(
    finding_id: Annotated[str, typer.Argument(help="The finding's id")],
    reason: Annotated[str, typer.Option(help="Why the finding is accepted (required)")],
) -> None:
    """Archive an active finding with the reason it is accepted (audited)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return finding_json(await runtime.findings(conn).archive(caller, finding_id, reason))

    out(run_with_runtime(work))


@findings_app.command("unarchive")
def findings_unarchive(finding_id: Annotated[str, typer.Argument(help="The finding's id")]
                       ) -> None:
    """Make an archived finding active again (audited)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return finding_json(await runtime.findings(conn).unarchive(caller, finding_id))

    out(run_with_runtime(work))


@findings_app.command("remedy")
def findings_remedy(finding_id: Annotated[str, typer.Argument(help="The finding's id")]
                    ) -> None:
    """Apply the finding's one-step fix to its client (an audited client change)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return finding_json(await runtime.findings(conn).remedy(caller, finding_id))

    out(run_with_runtime(work))
