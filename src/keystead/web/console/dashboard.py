"""The dashboard: what needs an admin's attention."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keystead.web.console.pages import Page, route


async def dashboard(ctx: Page) -> Response:
    return ctx.render("dashboard.html")


routes: list[Route] = [route("/admin", dashboard)]
