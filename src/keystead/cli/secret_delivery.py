"""``keystead clients set-secret-destination|secret-destination|remove-secret-destination`` and
``rotate-secret --deliver``: deliver a client's secret to a vault or file, as the operator (the
same use cases the API calls)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, run_on_runtime, run_with_runtime
from keystead.domain.clients import Client
from keystead.domain.principal import Caller, operator
from keystead.domain.secret_delivery import Schedule
from keystead.web import delivery_runs
from keystead.web.presenters import delivery_json
from keystead.web.runtime import Runtime


def set_secret_destination(
    client_id: str,
    kind: Annotated[str, typer.Option(help="vault or file")],
    setting: Annotated[list[str] | None, typer.Option(
        help="name=value, repeatable: vault mount= path=; file directory= fileName=")] = None,
    rotate_every_days: Annotated[int | None, typer.Option(
        help="Rotate and deliver on schedule every this many days (none: only on demand)")]
    = None,
    dual_use_seconds: Annotated[int, typer.Option(
        help="With a schedule: seconds the previous secret keeps working")] = 86_400,
) -> None:
    """Deliver the client's secret to a vault or file (checked now; nothing is written yet)."""
    pairs = [item.partition("=") for item in setting or []]
    if any(not sep or not name for name, sep, _ in pairs):
        raise typer.BadParameter("each --setting is name=value", param_hint="--setting")
    settings = {name: value for name, _, value in pairs}
    schedule = None if rotate_every_days is None else Schedule(rotate_every_days,
                                                               dual_use_seconds)

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return await runtime.secret_delivery(conn).configure(
            caller, client_id, kind=kind, settings=settings, schedule=schedule)

    out(delivery_json(run_with_runtime(work)))


def secret_destination(client_id: str) -> None:
    """Show the client's secret destination and next scheduled rotation as JSON."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return await runtime.secret_delivery(conn).view(caller, client_id)

    out(delivery_json(run_with_runtime(work)))


def remove_secret_destination(client_id: str) -> None:
    """Stop delivering (and rotating on schedule); what was delivered stays where it is."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> None:
        await runtime.secret_delivery(conn).remove(caller, client_id)

    run_with_runtime(work)
    typer.echo(f"{client_id}: secret destination removed")


def rotate_delivered(client_id: str, window: int) -> Client:
    """Rotate into the destination, verified before the previous secret's window starts; a
    failure is audited and exits 1 with the reason, the client's secret unchanged."""

    async def work(runtime: Runtime) -> Client:
        return await delivery_runs.deliver_new_secret(runtime, operator(), client_id,
                                                     dual_use_seconds=window)

    return run_on_runtime(work)
