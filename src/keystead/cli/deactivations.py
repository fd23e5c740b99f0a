"""`keystead governance deactivations list|plan|cancel`: planned client deactivations, as the
operator (see domain/governance/deactivation.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import fail, out, run_with_runtime
from keystead.domain.governance.deactivation import DeactivationPlan
from keystead.domain.principal import Caller
from keystead.web.api.governance.deactivations import plan_json
from keystead.web.runtime import Runtime

deactivations_app = typer.Typer(help="Planned client deactivations (notice to the owner, "
                                     "then inactive on the date).", no_args_is_help=True)


@deactivations_app.command("list")
def list_plans() -> None:
    """Print every planned deactivation as JSON, soonest first."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller
                   ) -> list[DeactivationPlan]:
        return list(await runtime.deactivations(conn).list(caller))

    out([plan_json(p) for p in run_with_runtime(work)])


@deactivations_app.command("plan")
def plan(client_id: str,
         at: Annotated[str, typer.Option(help="When it stops: an ISO date or time, UTC if no "
                                              "offset (e.g. 2027-01-31 or 2027-01-31T12:00Z)")],
         reason: Annotated[str, typer.Option(help="Why (told to the owner)")],
         replacement: Annotated[str | None, typer.Option(help="The client that replaces it")]
         = None) -> None:
    """Plan (or reschedule) CLIENT_ID's deactivation; its owner is told at once."""
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at must be an ISO date or time, e.g. 2027-01-31; got {at!r}")
        raise  # unreachable: fail exits
    when = when if when.tzinfo else when.replace(tzinfo=UTC)

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> DeactivationPlan:
        return await runtime.deactivations(conn).plan(
            caller, client_id, deactivate_at=when, reason=reason,
            replacement_client_id=replacement)

    out(plan_json(run_with_runtime(work)))


@deactivations_app.command("cancel")
def cancel(client_id: str) -> None:
    """Cancel CLIENT_ID's planned deactivation; its owner is told."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> None:
        await runtime.deactivations(conn).cancel(caller, client_id)

    run_with_runtime(work)
    typer.echo(f"{client_id}: planned deactivation cancelled")
