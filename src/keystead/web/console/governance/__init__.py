"""Console pages for governance: the organisation's policy (more areas join this package)."""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.governance import policy
from keystead.web.console.pages import route

routes: list[Route] = [
    route(policy.BASE, policy.policy_page),
    route(policy.BASE, policy.policy_save, methods=("POST",)),
]
