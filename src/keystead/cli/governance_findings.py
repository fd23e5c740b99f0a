"""`keystead governance findings ...`: evaluate, list, archive, unarchive and fix findings as
the operator (audited as ``cli``), with the API's JSON shapes."""

from __future__ import annotations

from typing import Annotated

import typer

from keystead.cli.run import print_every, print_result
from keystead.domain.governance.finding_engine import describe_evaluation
from keystead.domain.governance.findings import finding_filter
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
    print_every(Runtime.findings,
                lambda findings, caller, page: findings.search(caller, finding_filter(wanted),
                                                               page),
                finding_json)


@findings_app.command("evaluate")
def findings_evaluate(
    client_id: Annotated[str | None, typer.Option(help="Only this client (default: all)")] = None,
) -> None:
    """Evaluate now; print how many clients were evaluated, findings opened and resolved."""
    client_ids = None if client_id is None else [client_id]
    print_result(Runtime.findings,
                 lambda findings, caller: findings.evaluate(caller, client_ids=client_ids),
                 describe_evaluation)


@findings_app.command("archive")
def findings_archive(
    finding_id: Annotated[str, typer.Argument(help="The finding's id")],
    reason: Annotated[str, typer.Option(help="Why the finding is accepted (required)")],
) -> None:
    """Archive an active finding with the reason it is accepted (audited)."""
    print_result(Runtime.findings,
                 lambda findings, caller: findings.archive(caller, finding_id, reason),
                 finding_json)


@findings_app.command("unarchive")
def findings_unarchive(finding_id: Annotated[str, typer.Argument(help="The finding's id")]
                       ) -> None:
    """Make an archived finding active again (audited)."""
    print_result(Runtime.findings,
                 lambda findings, caller: findings.unarchive(caller, finding_id),
                 finding_json)


@findings_app.command("remedy")
def findings_remedy(finding_id: Annotated[str, typer.Argument(help="The finding's id")]
                    ) -> None:
    """Apply the finding's one-step fix to its client (an audited client change)."""
    print_result(Runtime.findings,
                 lambda findings, caller: findings.remedy(caller, finding_id),
                 finding_json)
