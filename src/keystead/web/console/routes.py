"""Every console route, and the static files the pages use."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from keystead.web.console import (
    audit,
    clients,
    connected_apps,
    dashboard,
    identity_providers,
    people,
    signin,
)

STATIC = Path(__file__).parent / "static"


def console_routes() -> list[BaseRoute]:
    return [
        *signin.routes,
        *dashboard.routes,
        *clients.routes,
        *audit.routes,
        *people.routes,
        *identity_providers.routes,
        *connected_apps.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
