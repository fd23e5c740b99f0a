"""`keystead governance alerts ...`: evaluate, list, acknowledge and resolve alerts as the
operator (audited as ``cli``), with the API's JSON shapes."""

from __future__ import annotations

from typing import Annotated

import typer

from keystead.cli.run import print_every, print_result
from keystead.domain.governance.alert_engine import describe_run
from keystead.domain.governance.alerts import alert_filter
from keystead.web.api.governance.alerts import alert_json
from keystead.web.runtime import Runtime

alerts_app = typer.Typer(help="Alerts: changes in a client's behaviour against its baseline.",
                         no_args_is_help=True)


@alerts_app.command("list")
def alerts_list(
    client_id: Annotated[str | None, typer.Option(help="Only this client's alerts")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule, e.g. failed-auth-spike")
                    ] = None,
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved")] = None,
) -> None:
    """Print the alerts as a JSON list, open first, newest first."""
    wanted = {name: value for name, value in
              (("clientId", client_id), ("rule", rule), ("state", state)) if value}
    print_every(Runtime.alerts,
                lambda alerts, caller, page: alerts.search(caller, alert_filter(wanted), page),
                alert_json)


@alerts_app.command("evaluate")
def alerts_evaluate() -> None:
    """Evaluate every rule now; print how many alerts were raised and occurrences counted."""
    print_result(Runtime.alerts, lambda alerts, caller: alerts.evaluate(caller), describe_run)


@alerts_app.command("acknowledge")
def alerts_acknowledge(alert_id: Annotated[str, typer.Argument(help="The alert's id")]) -> None:
    """Say someone is on an open alert (audited)."""
    print_result(Runtime.alerts, lambda alerts, caller: alerts.acknowledge(caller, alert_id),
                 alert_json)


@alerts_app.command("resolve")
def alerts_resolve(alert_id: Annotated[str, typer.Argument(help="The alert's id")]) -> None:
    """Close an open or acknowledged alert (audited)."""
    print_result(Runtime.alerts, lambda alerts, caller: alerts.resolve(caller, alert_id),
                 alert_json)
