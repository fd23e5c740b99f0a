"""The header's search box: ``/admin/search?q=…`` lists the clients and users that match, each
group only for an admin allowed to view it (``domain/console_search.py`` decides)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.console_search import MIN_QUERY, SearchResults
from keystead.domain.errors import InvalidInputError
from keystead.domain.permissions import Permission
from keystead.web.console.clients.presenters import BASE as CLIENTS
from keystead.web.console.forms import field_errors
from keystead.web.console.pages import Page, route

LIMIT = 20  # per group; the page says "showing 20 of N" and links to the full list


async def search(ctx: Page) -> Response:
    query = ctx.request.query_params.get("q", "")
    caller = ctx.signed_in
    results: SearchResults | None = None
    errors: dict[str, str] = {}
    if query.strip():
        try:
            async with ctx.transaction() as conn:
                results = await ctx.runtime.console_search(conn).search(caller, query,
                                                                        limit=LIMIT)
        except InvalidInputError as exc:
            errors = field_errors(exc.problems)
    return ctx.render(
        "search.html", 400 if errors else 200, q=query.strip(), results=results, errors=errors,
        min_query=MIN_QUERY, clients_base=CLIENTS,
        may_view_clients=caller.has_permission(Permission.OAUTH_CLIENT_VIEW),
        may_view_users=caller.has_permission(Permission.DIRECTORY_USER_VIEW))


routes: list[Route] = [route("/admin/search", search)]
