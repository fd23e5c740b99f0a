"""The access review pages: campaigns, Start-a-review form, a campaign, My reviews, report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.clients import Environment
from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.reviews import (
    Campaign,
    CampaignState,
    Decision,
    ReviewItem,
    SelectionKind,
    due_from_text,
    selection_from_document,
)
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.web.console.forms import SHOWN, Refused, sentence, submit
from keystead.web.console.pages import Page, path_id
from keystead.web.review_report import report_csv, report_rows

NOTICES = {
    "review-started": "Access review started: each reviewer has been assigned their clients.",
    "review-decided": "Decision saved.",
    "review-closed": "Access review closed.",
}
SELECTIONS = {
    SelectionKind.all.value: "All clients",
    SelectionKind.tags.value: "Clients with any of these tags",
    SelectionKind.environment.value: "Clients in this environment",
    SelectionKind.client_ids.value: "These client ids",
}


def _render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    return ctx.render_with(NOTICES, template, status, **context)


def _url(campaign_id: str) -> str:
    return f"/admin/reviews/{campaign_id}"


async def campaigns_list(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        found, total = await ctx.runtime.reviews(conn).summaries(ctx.signed_in,
                                                                 Paging(1, 200))
    return _render(ctx, "reviews/list.html", campaigns=found, total=total,
                   may_start=ctx.signed_in.has_permission(Permission.GOVERNANCE_REVIEW_ADD))


async def my_reviews(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        found = await ctx.runtime.reviews(conn).assigned(ctx.signed_in)
    return _render(ctx, "reviews/assigned.html", rows=found)


def _new_values() -> dict[str, str]:
    return {"name": "", "dueDate": "", "selectionKind": SelectionKind.all.value,
            "selectionValue": "", "fallbackReviewer": ""}


async def _new_form(ctx: Page, values: Mapping[str, str], refused: Refused = SHOWN
                    ) -> Response:
    return _render(ctx, "reviews/new.html", refused.status, values=values,
                   errors=refused.errors, selections=SELECTIONS,
                   environments=[e.value for e in Environment])


async def campaign_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.GOVERNANCE_REVIEW_ADD)
    return await _new_form(ctx, _new_values())


def _selection_document(kind: str, value: str) -> dict[str, object]:
    if kind == SelectionKind.all.value:
        return {"all": True}
    if kind == SelectionKind.environment.value:
        return {kind: value}
    return {kind: [v for v in (part.strip() for part in value.replace(",", " ").split()) if v]}


def _form_field(field: str) -> str:
    """The form field a domain problem is about (``selection.tags`` -> ``selectionValue``)."""
    if field == "selection":
        return "selectionKind"
    if field.startswith("selection."):
        return "selectionValue"
    return {"fallbackReviewerId": "fallbackReviewer"}.get(field, field)


async def campaign_start(ctx: Page) -> Response:
    values = {name: ctx.field(name) for name in _new_values()}

    async def start(conn: AsyncConnection) -> Campaign:
        problems = []
        try:
            due = due_from_text(values["dueDate"]) if values["dueDate"].strip() else None
        except InvalidInputError as exc:
            problems += exc.problems
            due = None
        try:
            selection = selection_from_document(_selection_document(
                values["selectionKind"], values["selectionValue"]))
        except InvalidInputError as exc:
            raise InvalidInputError(problems + exc.problems) from exc
        if problems:
            raise InvalidInputError(problems)
        return await ctx.runtime.reviews(conn).start(
            ctx.signed_in, name=values["name"], due_at=due, selection=selection,
            fallback_reviewer_id=values["fallbackReviewer"])

    def fields(problems: Any) -> dict[str, str]:
        errors: dict[str, str] = {}
        for problem in problems:
            errors.setdefault(_form_field(problem.field), sentence(problem.message))
        return errors

    return await submit(ctx, start, fields=fields,
                        again=lambda refused: _new_form(ctx, values, refused),
                        done=lambda c: f"{_url(c.id)}?notice=review-started")


def _may_decide(ctx: Page, campaign: Campaign, item: ReviewItem) -> bool:
    caller = ctx.signed_in
    if campaign.state is not CampaignState.open or item.is_decided:
        return False
    return (caller.actor.kind == "user" and caller.actor.id == item.reviewer_id) or (
        caller.has_permission(Permission.GOVERNANCE_REVIEW_EDIT))


async def _campaign_view(ctx: Page, campaign_id: str, refused: Refused = SHOWN, *,
                         failed_item: str = "", values: Mapping[str, Any] | None = None
                         ) -> Response:
    async with ctx.transaction() as conn:
        seen = await ctx.runtime.reviews(conn).view(ctx.signed_in, campaign_id)
        policy = await ctx.runtime.policy_store(conn).find()
        since = (ctx.runtime.clock() - timedelta(days=policy.unused_lookback_days)).date()
        evidence = await ctx.runtime.evidence_query(conn).over(
            [i.client_id for i in seen.items], since)
    caller = ctx.signed_in
    rows = [{"item": item, "client": seen.clients.get(item.client_id),
             "evidence": evidence[item.client_id], "may_decide": _may_decide(ctx, seen.campaign,
                                                                             item)}
            for item in seen.items]
    may_close = seen.campaign.state is CampaignState.open and (
        seen.campaign.owner == caller.actor
        or caller.has_permission(Permission.GOVERNANCE_REVIEW_EDIT))
    return _render(ctx, "reviews/campaign.html", refused.status, campaign=seen.campaign,
                   progress=seen.progress, partial=seen.partial, rows=rows,
                   role_names=seen.role_names, since=since, decisions=[d.value for d in Decision],
                   may_close=may_close, errors=refused.errors, failed_item=failed_item,
                   values=values or {})


async def campaign_page(ctx: Page) -> Response:
    return await _campaign_view(ctx, path_id(ctx))


async def item_decide(ctx: Page) -> Response:
    campaign_id = path_id(ctx)
    item_id = str(ctx.request.path_params["item"])
    decision, comment = ctx.field("decision"), ctx.field("comment")
    scopes, role_ids = ctx.fields("scopes"), ctx.fields("roleIds")
    values = {"decision": decision, "comment": comment, "scopes": scopes, "roleIds": role_ids}

    async def decide(conn: AsyncConnection) -> ReviewItem:
        return await ctx.runtime.reviews(conn).decide(
            ctx.signed_in, campaign_id, item_id, decision=decision, comment=comment,
            scopes=scopes, role_ids=role_ids)

    return await submit(
        ctx, decide, done=lambda _: f"{_url(campaign_id)}?notice=review-decided#item-{item_id}",
        conflict="decision",
        again=lambda refused: _campaign_view(ctx, campaign_id, refused, failed_item=item_id,
                                             values=values))


async def campaign_close(ctx: Page) -> Response:
    campaign_id = path_id(ctx)
    return await submit(
        ctx, lambda conn: ctx.runtime.reviews(conn).close(ctx.signed_in, campaign_id),
        done=lambda _: f"{_url(campaign_id)}?notice=review-closed", conflict="close",
        again=lambda refused: _campaign_view(ctx, campaign_id, refused))


async def report_page(ctx: Page) -> Response:
    """The report to print (or save as PDF): every item, its decision, who and when."""
    async with ctx.transaction() as conn:
        campaign, items = await ctx.runtime.reviews(conn).report(ctx.signed_in, path_id(ctx))
    return _render(ctx, "reviews/report.html", campaign=campaign, rows=report_rows(items),
                   generated=ctx.runtime.clock(),
                   decided=sum(1 for i in items if i.is_decided))


async def report_csv_download(ctx: Page) -> Response:
    """The same report as a CSV file (formulas neutralised: see ``review_report``)."""
    async with ctx.transaction() as conn:
        campaign, items = await ctx.runtime.reviews(conn).report(ctx.signed_in, path_id(ctx))
    return Response(report_csv(report_rows(items)), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition":
                             f'attachment; filename="access-review-{campaign.id}.csv"'})
