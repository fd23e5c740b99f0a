"""`keystead governance alerts ...`: evaluate, list, acknowledge and resolve alerts as the
operator (audited as ``cli``), with the API's JSON shapes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import every_page, out, run_with_runtime
from keystead.domain.governance.alert_engine import describe_run
from keystead.domain.governance.alerts import alert_filter
from keystead.domain.principal import Caller
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

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> list[Any]:
        flt = alert_filter(wanted)
        alerts = runtime.alerts(conn)
        return await every_page(lambda page: alerts.search(caller, flt, page), alert_json)

    out(run_with_runtime(work))


@alerts_app.command("evaluate")
def alerts_evaluate() -> None:
    """Evaluate every rule now; print how many alerts were raised and occurrences counted."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return describe_run(await runtime.alerts(conn).evaluate(caller))

    out(run_with_runtime(work))


@alerts_app.command("acknowledge")
def alerts_acknowledge(alert_id: Annotated[str, typer.Argument(help="The alert's id")]) -> None:
    """Say someone is on an open alert (audited)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return alert_json(await runtime.alerts(conn).acknowledge(caller, alert_id))

    out(run_with_runtime(work))


@alerts_app.command("resolve")
def alerts_resolve(alert_id: Annotated[str, typer.Argument(help="The alert's id")]) -> None:
    """Close an open or acknowledged alert (audited)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return alert_json(await runtime.alerts(conn).resolve(caller, alert_id))

    out(run_with_runtime(work))
