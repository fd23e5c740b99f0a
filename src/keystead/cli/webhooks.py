"""`keystead webhooks list|create|show|delete|enable|deliveries|redeliver|recover|event-types`:
webhook endpoints (Standard Webhooks) as the operator manages them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, print_result, run_with_runtime
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.domain.webhooks.events import EVENTS
from keystead.web.api.governance.webhooks import delivery_json, endpoint_json
from keystead.web.runtime import Runtime

webhooks_app = typer.Typer(help="Webhook endpoints: subscriptions, delivery log, redelivery.",
                           no_args_is_help=True)


@webhooks_app.command("list")
def list_endpoints() -> None:
    """Print the endpoints as JSON (never their secrets)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller
                   ) -> list[dict[str, Any]]:
        found, _ = await runtime.webhooks(conn).list(caller, Page(1, 500))
        return [endpoint_json(e) for e in found]

    out(run_with_runtime(work))


@webhooks_app.command("create")
def create(
    url: Annotated[str, typer.Option(help="Where to POST events (http or https)")],
    event: Annotated[list[str], typer.Option(help="An event type to subscribe to (repeat); "
                                                  "see `keystead webhooks event-types`")],
    description: Annotated[str, typer.Option(help="What the endpoint is for")] = "",
) -> None:
    """Create an endpoint; prints it with its signing secret, shown this once."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> dict[str, Any]:
        created = await runtime.webhooks(conn).create(
            caller, url=url, event_types=event, description=description)
        return endpoint_json(created.endpoint, secret=created.secret)

    out(run_with_runtime(work))


@webhooks_app.command("show")
def show(endpoint_id: str) -> None:
    """Print one endpoint as JSON."""
    print_result(Runtime.webhooks, lambda webhooks, caller: webhooks.find(caller, endpoint_id),
                 endpoint_json)


@webhooks_app.command("delete")
def delete(endpoint_id: str) -> None:
    """Delete an endpoint, its delivery log and what is queued for it."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> None:
        await runtime.webhooks(conn).delete(caller, endpoint_id)

    run_with_runtime(work)
    typer.echo(f"deleted {endpoint_id}")


@webhooks_app.command("enable")
def enable(endpoint_id: str) -> None:
    """Enable an endpoint disabled after persistent failure."""
    print_result(Runtime.webhooks,
                 lambda webhooks, caller: webhooks.enable(caller, endpoint_id), endpoint_json)


@webhooks_app.command("deliveries")
def deliveries(endpoint_id: str) -> None:
    """Print the endpoint's delivery log as JSON, newest first (at most 500 attempts)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller
                   ) -> list[dict[str, Any]]:
        found, _ = await runtime.webhooks(conn).deliveries(caller, endpoint_id, Page(1, 500))
        return [delivery_json(d) for d in found]

    out(run_with_runtime(work))


@webhooks_app.command("redeliver")
def redeliver(endpoint_id: str, delivery_id: str) -> None:
    """Queue the event of one logged attempt again (the same webhook-id)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> str:
        return await runtime.webhooks(conn).redeliver(caller, endpoint_id, delivery_id)

    out({"messageId": run_with_runtime(work)})


@webhooks_app.command("recover")
def recover(endpoint_id: str) -> None:
    """Queue again every logged event the endpoint never took, in each client's order."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> int:
        return await runtime.webhooks(conn).recover(caller, endpoint_id)

    out({"queued": run_with_runtime(work)})


@webhooks_app.command("event-types")
def event_types() -> None:
    """Print the event types and what each one's data holds."""
    out([{"id": name, "summary": spec.summary, "fields": dict(spec.fields)}
         for name, spec in EVENTS.items()])
