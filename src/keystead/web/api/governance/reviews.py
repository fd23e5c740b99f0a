"""/api/v2/governance/reviews: access review campaigns, their items, decisions and reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.reviews import (
    Progress,
    due_from_text,
    selection_from_document,
)
from keystead.web.api.common import call, listing_handler
from keystead.web.errors import json_response
from keystead.web.presenters import iso
from keystead.web.review_report import (
    BASE,
    campaign_json,
    evidence_json,
    item_json,
    report_csv,
    report_json,
)
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

READ = "governance:readonly"
CHANGE = "governance"


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=10_000)
    dueDate: str = Field(max_length=64)  # noqa: N815 - wire name
    selection: dict[str, Any]
    fallbackReviewerId: str = Field(max_length=64)  # noqa: N815


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(max_length=32)
    comment: str = Field(default="", max_length=100_000)
    scopes: list[str] = Field(default_factory=list, max_length=500)
    roleIds: list[str] = Field(default_factory=list, max_length=500)  # noqa: N815


list_campaigns = listing_handler(
    READ, lambda c, _request, page: c.runtime.reviews(c.conn).summaries(c.caller, page),
    lambda cp: campaign_json(*cp), uri=BASE)


async def start_campaign(request: Request) -> Response:
    async with call(request, scope=CHANGE) as c:
        body = parse_body(CampaignRequest, await request.body())
        campaign = await c.runtime.reviews(c.conn).start(
            c.caller, name=body.name, due_at=due_from_text(body.dueDate),
            selection=selection_from_document(body.selection),
            fallback_reviewer_id=body.fallbackReviewerId)
        seen = await c.runtime.reviews(c.conn).view(c.caller, campaign.id)
    return json_response(campaign_json(campaign, seen.progress))


async def assigned(request: Request) -> Response:
    """The caller's own undecided and decided items in open campaigns (a user's token)."""
    async with call(request, scope=READ) as c:
        found = await c.runtime.reviews(c.conn).assigned(c.caller)
    entities = [item_json(item) | {"campaign": {"id": campaign.id, "name": campaign.name,
                                                "dueDate": iso(campaign.due_at),
                                                "selfUri": f"{BASE}/{campaign.id}"}}
                for campaign, item in found]
    return json_response({"entities": entities, "pageSize": len(entities), "pageNumber": 1,
                          "total": len(entities), "pageCount": 1})


async def get_campaign(request: Request) -> Response:
    """The campaign with its items, each with its client's evidence of use over the policy's
    unused lookback."""
    async with call(request, scope=READ) as c:
        seen = await c.runtime.reviews(c.conn).view(c.caller, request.path_params["id"])
        policy = await c.runtime.policy_store(c.conn).find()
        since = (c.runtime.clock() - timedelta(days=policy.unused_lookback_days)).date()
        evidence = await c.runtime.evidence_query(c.conn).over(
            [i.client_id for i in seen.items], since)
    body = campaign_json(seen.campaign, seen.progress)
    body["items"] = [item_json(i, evidence=evidence_json(evidence[i.client_id], since=since))
                     for i in seen.items]
    body["partial"] = seen.partial
    return json_response(body)


async def close_campaign(request: Request) -> Response:
    async with call(request, scope=CHANGE) as c:
        reviews = c.runtime.reviews(c.conn)
        campaign = await reviews.close(c.caller, request.path_params["id"])
        seen = await reviews.view(c.caller, campaign.id)
    return json_response(campaign_json(campaign, seen.progress))


async def report(request: Request) -> Response:
    """JSON, or ``?format=csv``: a CSV file with a header row."""
    fmt = request.query_params.get("format", "json")
    async with call(request, scope=READ) as c:
        if fmt not in ("json", "csv"):
            raise InvalidInputError.one("format", "invalid.value", "format is json or csv")
        campaign, items = await c.runtime.reviews(c.conn).report(c.caller,
                                                                 request.path_params["id"])
        generated = iso(c.runtime.clock())
    progress = Progress(len(items), sum(1 for i in items if i.is_decided))
    body = report_json(campaign, progress, items, generated=generated)
    if fmt == "csv":
        return Response(report_csv(body["entities"]), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition":
                                 f'attachment; filename="access-review-{campaign.id}.csv"'})
    return json_response(body)


async def decide(request: Request) -> Response:
    async with call(request, scope=CHANGE) as c:
        body = parse_body(DecisionRequest, await request.body())
        item = await c.runtime.reviews(c.conn).decide(
            c.caller, request.path_params["id"], request.path_params["item"],
            decision=body.decision, comment=body.comment, scopes=body.scopes,
            role_ids=body.roleIds)
    return json_response(item_json(item))


routes = [
    route_at(BASE, get=list_campaigns, post=start_campaign),
    route_at(BASE + "/assigned", get=assigned),
    route_at(BASE + "/{id}", get=get_campaign),
    route_at(BASE + "/{id}/close", post=close_campaign),
    route_at(BASE + "/{id}/report", get=report),
    route_at(BASE + "/{id}/items/{item}/decision", post=decide),
]
