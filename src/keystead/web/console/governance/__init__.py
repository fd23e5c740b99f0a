"""Console pages for governance: findings (the list, one finding, fix, archive, unarchive)."""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.governance import findings

routes: list[Route] = findings.routes
