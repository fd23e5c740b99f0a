"""``keystead clients plan-deactivation|deactivations|cancel-deactivation``: a client's planned
deactivation, as the operator (the same use case the API and console call)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, run_with_runtime
from keystead.domain.principal import Caller
from keystead.web.presenters import planned_json
from keystead.web.runtime import Runtime


def plan_deactivation(
    client_id: str,
    on: Annotated[datetime, typer.Option(help="When it is disabled: a date or date and time, "
                                              "UTC (e.g. 2027-03-31)")],
    reason: Annotated[str, typer.Option(help="Why it is retired (shown to its owner)")],
    replacement: Annotated[str | None, typer.Option(help="The client id that replaces it")]
    = None,
) -> None:
    """Plan a client's deactivation: it works until the date (its token responses say it is
    deprecated), is disabled on it, and is deleted after the policy's retention period."""
    when = on.replace(tzinfo=UTC) if on.tzinfo is None else on.astimezone(UTC)

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return await runtime.deactivations(conn).schedule(
            caller, client_id, date=when, reason=reason, replacement_id=replacement)

    out(planned_json(run_with_runtime(work)))


def deactivations() -> None:
    """List planned deactivations as JSON, soonest first."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return await runtime.deactivations(conn).list(caller)

    out([planned_json(p) for p in run_with_runtime(work)])


def cancel_deactivation(client_id: str) -> None:
    """Cancel a client's planned deactivation (a client it already disabled stays disabled)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> None:
        await runtime.deactivations(conn).cancel(caller, client_id)

    run_with_runtime(work)
    typer.echo(f"the planned deactivation of {client_id} is cancelled")
