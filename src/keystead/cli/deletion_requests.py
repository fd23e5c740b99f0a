"""`keystead governance deletion-requests list|approve|reject`: deletions waiting for a second
admin (policy ``deletionApproval``), decided by the operator.

The operator acts as ``cli``: a request the operator filed from the command line (``keystead
clients delete`` with the policy on) needs another admin, through the API or console, to approve.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import out, run_with_runtime
from keystead.domain.governance.deletion_requests import DeletionRequest, RequestState
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.web.api.governance.deletion_requests import deletion_request_json
from keystead.web.runtime import Runtime

deletion_requests_app = typer.Typer(help="Client deletions waiting for a second admin's "
                                         "approval.", no_args_is_help=True)


@deletion_requests_app.command("list")
def list_requests(
    state: Annotated[RequestState | None, typer.Option(help="Only requests in this state")]
    = None,
    client_id: Annotated[str | None, typer.Option(help="Only requests for this client")] = None,
) -> None:
    """Print deletion requests as JSON, newest first."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller
                   ) -> list[DeletionRequest]:
        found, _ = await runtime.client_deletion(conn).list(
            caller, Page(1, 500), client_id=client_id, state=state)
        return list(found)

    out([deletion_request_json(r) for r in run_with_runtime(work)])


@deletion_requests_app.command("approve")
def approve(request_id: str) -> None:
    """Approve REQUEST_ID: the client is deleted now, as the operator."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> DeletionRequest:
        return await runtime.client_deletion(conn).approve(caller, request_id)

    out(deletion_request_json(run_with_runtime(work)))


@deletion_requests_app.command("reject")
def reject(request_id: str,
           reason: Annotated[str, typer.Option(help="Why the client stays (required)")]) -> None:
    """Reject REQUEST_ID with a reason: the client stays."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> DeletionRequest:
        return await runtime.client_deletion(conn).reject(caller, request_id, reason)

    out(deletion_request_json(run_with_runtime(work)))
