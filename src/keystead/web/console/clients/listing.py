"""The clients list: search by name, state, grant type, environment and tag, sorted, a page at
a time; ``?owner=me`` is "My clients", which a user sees without ``oauth:client:view``.

Each row shows the client id and the owner (one read for the page's owners); an admin who may
edit clients ticks rows for the bulk actions (``bulk.py``), whose report this page shows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.responses import Response

from keystead.domain.clients import (
    Client,
    ClientFilter,
    ClientSort,
    ClientState,
    Environment,
    GrantType,
)
from keystead.domain.governance.ownership import Owner, is_orphaned
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.owners import ENVIRONMENTS
from keystead.web.console.clients.presenters import (
    BASE,
    CLIENT_NOTICES,
    common,
    secret_age_days,
    who,
)
from keystead.web.console.pages import Page

if TYPE_CHECKING:  # bulk.py renders this page with its report
    from keystead.web.console.clients.bulk import BulkReport

PAGE_SIZE = 25
MAX_PAGE = 10**6


async def list_clients(ctx: Page) -> Response:
    return await render_list(ctx)


async def render_list(ctx: Page, *, bulk_errors: Errors | None = None, typed_tag: str = "",
                      ticked: frozenset[str] = frozenset(), report: BulkReport | None = None,
                      status: int = 200) -> Response:
    """The list for the address's filters; after a bulk action, its errors (the ``ticked``
    boxes and ``typed_tag`` kept) or its ``report``."""
    params = ctx.request.query_params
    mine = params.get("owner") == "me"
    if not mine:  # the use case decides too; this keeps a bad filter from showing the page
        ctx.signed_in.require(Permission.OAUTH_CLIENT_VIEW)
    errors = Errors()
    query = params.get("q", "").strip()
    if "\x00" in query:
        errors.add("q", "the name must not contain the NUL character")
    state = params.get("state", "")
    if state and state not in ClientState._value2member_map_:
        errors.add("state", "choose a state from the list")
    grant = params.get("grant", "")
    if grant and grant not in GrantType._value2member_map_:
        errors.add("grant", "choose a grant type from the list")
    environment = params.get("environment", "")
    if environment and environment not in Environment._value2member_map_:
        errors.add("environment", "choose an environment from the list")
    tag = params.get("tag", "").strip()
    if "\x00" in tag:
        errors.add("tag", "the tag must not contain the NUL character")
    sort = params.get("sort", "") or str(ClientSort.name)
    if sort not in ClientSort._value2member_map_:
        errors.add("sort", "choose an order from the list")
        sort = str(ClientSort.name)
    raw_page = params.get("pageNumber", "1")
    valid = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= len(str(MAX_PAGE))
    number = int(raw_page) if valid else 0
    if not 1 <= number <= MAX_PAGE:
        errors.add("pageNumber", f"the page number must be a whole number from 1 to {MAX_PAGE}")
        number = 1
    found: Sequence[Client] = []
    owners: Mapping[str, Owner] = {}
    total = 0
    if not errors:
        async with ctx.transaction() as conn:
            manage = ctx.runtime.management(conn)
            found, total = await manage.search(ctx.signed_in, ClientFilter(
                name=query or None, state=ClientState(state) if state else None,
                grant_type=GrantType(grant) if grant else None, sort=ClientSort(sort),
                environment=Environment(environment) if environment else None,
                tag=tag or None), Paging(number, PAGE_SIZE), mine=mine)
            owners = await manage.owners_of(found)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    kept = {k: v for k, v in (("q", query), ("state", state), ("grant", grant),
                              ("environment", environment), ("tag", tag),
                              ("owner", "me" if mine else ""),
                              ("sort", sort if sort != ClientSort.name else "")) if v}

    def page_url(n: int) -> str:
        return f"{BASE}?{urlencode(kept | {'pageNumber': str(n)})}"

    here = urlencode(kept | ({"pageNumber": str(number)} if number > 1 else {}))

    now = ctx.runtime.clock()
    return ctx.render_with(
        CLIENT_NOTICES, "clients/list.html", 400 if errors else status, **common(ctx),
        clients=found, total=total, errors=errors, q=query, state=state, grant=grant, sort=sort,
        page_number=number,
        pages=pages, previous_url=page_url(number - 1) if number > 1 else "",
        next_url=page_url(number + 1) if number < pages else "",
        states=[str(s) for s in ClientState], grants=[str(g) for g in GrantType],
        sorts={str(ClientSort.name): "Name", str(ClientSort.created): "Created (newest first)",
               str(ClientSort.last_used): "Last used (most recent first)"},
        ages={c.id: secret_age_days(c, now) for c in found}, who=who,
        mine=mine, environment=environment, tag=tag, environments=ENVIRONMENTS,
        owners=owners, orphaned={c.id for c in found if is_orphaned(c, owners)},
        may_add=ctx.signed_in.has_permission(Permission.OAUTH_CLIENT_ADD),
        may_edit=ctx.signed_in.has_permission(Permission.OAUTH_CLIENT_EDIT),
        may_view_users=ctx.signed_in.has_permission(Permission.DIRECTORY_USER_VIEW),
        bulk_url=f"{BASE}/bulk?{here}" if here else f"{BASE}/bulk",
        bulk_errors=bulk_errors or Errors(), typed_tag=typed_tag, ticked=ticked, report=report)
