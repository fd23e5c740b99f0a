"""Every console route, and the static files the pages use.

A page whose address holds a typed id (``{id:entity}``, ``{id:scope}``: ``ids.py``) gets a twin
placed after every page: the same address and methods with any id, answering the console's 404
(after the same sign-in and CSRF checks), so a bad id is refused as an unknown one is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from keystead.domain.errors import NotFoundError
from keystead.web.console import (
    api_explorer,
    audit,
    clients,
    connected_apps,
    dashboard,
    divisions,
    favicon,
    governance,
    identity_providers,
    reviews,
    roles,
    scopes,
    search,
    signin,
    users,
)
from keystead.web.console.ids import ENTITY, SCOPE
from keystead.web.console.pages import Page, page

STATIC = Path(__file__).parent / "static"
_TYPED_ID = re.compile(r"\{(\w+):(%s|%s)\}" % (ENTITY, SCOPE))  # noqa: UP031


def console_routes() -> list[BaseRoute]:
    pages: list[BaseRoute] = [
        *signin.routes,
        *dashboard.routes,
        *clients.routes,
        *audit.routes,
        *users.routes,
        *roles.routes,
        *divisions.routes,
        *scopes.routes,
        *identity_providers.routes,
        *connected_apps.routes,
        *governance.routes,
        *reviews.routes,
        *api_explorer.routes,
        *search.routes,
    ]
    return [*pages, *unknown_id_routes(pages), *favicon.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static")]


async def _unknown(_ctx: Page) -> Response:
    raise NotFoundError("nothing has the id in this address")


def _any_id(match: re.Match[str]) -> str:
    return f"{{{match[1]}}}" if match[2] == ENTITY else f"{{{match[1]}:path}}"


def unknown_id_routes(routes: Sequence[BaseRoute]) -> list[Route]:
    """For each page with a typed id, a twin answering any other id with the 404 page."""
    twins: dict[tuple[str, tuple[str, ...]], Route] = {}
    for original in routes:
        if isinstance(original, Route) and _TYPED_ID.search(original.path):
            path = _TYPED_ID.sub(_any_id, original.path)
            methods = tuple(sorted(original.methods or ()))
            twins.setdefault((path, methods), Route(path, page(_unknown), methods=list(methods)))
    return list(twins.values())
