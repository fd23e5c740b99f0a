"""Deletion requests: the pending ones with Approve and Reject for a second admin, and the
recently decided. Who may decide is the domain's rule (ClientDeletion): a refusal (the requester
approving their own request, an expired one) is shown as the API answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.governance.deletion_requests import DeletionRequest, RequestState
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.web.console.forms import Refused, submit
from keystead.web.console.pages import Page, path_id, route

BASE = "/admin/governance/deletion-requests"
SHOWN = 100
NOTICES = {"approved": "Approved: the client is deleted.",
           "rejected": "Rejected: the client stays."}


async def listing(ctx: Page, *, errors: Mapping[str, str] | None = None,
                  status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        deletion = ctx.runtime.client_deletion(conn)
        pending, _ = await deletion.list(ctx.signed_in, Paging(1, SHOWN),
                                         state=RequestState.pending)
        recent, _ = await deletion.list(ctx.signed_in, Paging(1, SHOWN))
    return ctx.render_with(
        NOTICES, "governance/deletion_requests.html", status, pending=pending,
        closed=[r for r in recent if r.state is not RequestState.pending],
        errors=errors or {}, typed_for=ctx.field("request-id"), typed=ctx.field("reason"),
        may_decide=ctx.signed_in.has_permission(Permission.OAUTH_CLIENT_DELETE))


async def show(ctx: Page) -> Response:
    return await listing(ctx)


async def approve(ctx: Page) -> Response:
    request_id = path_id(ctx)

    async def change(conn: AsyncConnection) -> DeletionRequest:
        return await ctx.runtime.client_deletion(conn).approve(ctx.signed_in, request_id)

    return await _decide(ctx, change, "approved")


async def reject(ctx: Page) -> Response:
    request_id, reason = path_id(ctx), ctx.field("reason")

    async def change(conn: AsyncConnection) -> DeletionRequest:
        return await ctx.runtime.client_deletion(conn).reject(ctx.signed_in, request_id, reason)

    return await _decide(ctx, change, "rejected")


async def _decide(ctx: Page,
                  change: Callable[[AsyncConnection], Awaitable[DeletionRequest]],
                  notice: str) -> Response:
    async def again(refused: Refused) -> Response:
        return await listing(ctx, errors={path_id(ctx): refused.message}, status=refused.status)

    return await submit(ctx, change, done=lambda _: f"{BASE}?notice={notice}", again=again,
                        conflict="request")


routes = [route(BASE, show),
          route(BASE + "/{id:entity}/approve", post=approve),
          route(BASE + "/{id:entity}/reject", post=reject)]
