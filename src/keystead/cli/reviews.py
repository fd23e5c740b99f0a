"""`keystead reviews ...`: access review campaigns as the operator (start, list, report, close)
and ``attend``, what the server's access-reviews loop does every five minutes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, run_with_runtime
from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.reviews import (
    Progress,
    Selection,
    SelectionKind,
    due_from_text,
)
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.web.presenters import iso
from keystead.web.review_report import campaign_json, report_csv, report_json
from keystead.web.runtime import Runtime

reviews_app = typer.Typer(help="Access reviews: campaigns in which owners attest their clients.",
                          no_args_is_help=True)


def _selection(every: bool, tags: list[str], environment: str | None,
               clients: list[str]) -> Selection:
    chosen = [kind for kind, given in ((SelectionKind.all, every), (SelectionKind.tags, tags),
                                       (SelectionKind.environment, environment),
                                       (SelectionKind.client_ids, clients)) if given]
    if len(chosen) != 1:
        raise InvalidInputError.one("selection", "invalid.selection",
                                    "choose the clients with exactly one of --all, --tag, "
                                    "--environment or --client")
    values = {SelectionKind.all: (), SelectionKind.tags: tuple(tags),
              SelectionKind.environment: (environment or "",),
              SelectionKind.client_ids: tuple(clients)}[chosen[0]]
    return Selection(chosen[0], values)


@reviews_app.command("start")
def reviews_start(
    name: Annotated[str, typer.Option(help="E.g. '2026 Q4 scope review'")],
    due: Annotated[str, typer.Option(help="Due date: 2026-12-31 (its end, UTC) or an ISO "
                                          "instant")],
    fallback_reviewer: Annotated[str, typer.Option(
        help="E-mail or id of the user who reviews clients without an active owner")],
    every: Annotated[bool, typer.Option("--all", help="Review every client")] = False,
    tag: Annotated[list[str] | None, typer.Option(
        help="Review clients with this tag; repeat for any of several")] = None,
    environment: Annotated[str | None, typer.Option(
        help="Review clients in this environment (production, staging, development)")] = None,
    client: Annotated[list[str] | None, typer.Option(
        help="Review this client id; repeat for several")] = None,
) -> None:
    """Start a campaign: each selected client is assigned to its owner (or the fallback)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        reviews = runtime.reviews(conn)
        campaign = await reviews.start(
            caller, name=name, due_at=due_from_text(due),
            selection=_selection(every, tag or [], environment, client or []),
            fallback_reviewer_id=fallback_reviewer)
        return campaign_json(campaign, (await reviews.view(caller, campaign.id)).progress)

    out(run_with_runtime(work))


@reviews_app.command("list")
def reviews_list() -> None:
    """Campaigns, newest first: id, state, decided of all, due date, name."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        found, _total = await runtime.reviews(conn).summaries(caller, Page(1, 10**6))
        return found

    for campaign, progress in run_with_runtime(work):
        typer.echo(f"{campaign.id}  {campaign.state.value:<6}  "
                   f"{progress.decided:>4}/{progress.items:<4}  {iso(campaign.due_at)}  "
                   f"{campaign.name}")


@reviews_app.command("report")
def reviews_report(
    campaign_id: Annotated[str, typer.Argument(help="The campaign's id")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header row (formulas "
                                                       "neutralised) instead of JSON")] = False,
) -> None:
    """Every item of a campaign: client, reviewer, decision, comment, who decided and when."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        campaign, items = await runtime.reviews(conn).report(caller, campaign_id)
        return report_json(campaign, Progress(len(items), sum(1 for i in items
                                                              if i.is_decided)), items,
                           generated=iso(runtime.clock()))

    body = run_with_runtime(work)
    if as_csv:
        typer.echo(report_csv(body["entities"]), nl=False)
    else:
        out(body)


@reviews_app.command("close")
def reviews_close(campaign_id: Annotated[str, typer.Argument(help="The campaign's id")]
                  ) -> None:
    """Close a campaign now; undecided items stay undecided."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        reviews = runtime.reviews(conn)
        campaign = await reviews.close(caller, campaign_id)
        return campaign_json(campaign, (await reviews.view(caller, campaign.id)).progress)

    out(run_with_runtime(work))


@reviews_app.command("attend")
def reviews_attend() -> None:
    """Remind, escalate, apply the unreviewed action and close due campaigns, now."""

    async def work(runtime: Runtime, conn: AsyncConnection, _caller: Caller) -> Any:
        return await runtime.reviews(conn).attend()

    done = run_with_runtime(work)
    out({"reminded": done.reminded, "escalated": done.escalated, "disabled": done.disabled,
         "closed": done.closed})
