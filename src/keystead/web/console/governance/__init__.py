"""Console pages for governance: the organisation's policy, the findings, the alerts, the
signed-in user's inbox of notices, deletion requests, the compliance report and webhook
endpoints."""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.governance import (
    alerts,
    compliance,
    deletion_requests,
    findings,
    inbox,
    policy,
    webhooks,
)
from keystead.web.console.pages import route

routes: list[Route] = [
    route(policy.BASE, policy.policy_page, post=policy.policy_save),
    *inbox.routes, *deletion_requests.routes, *findings.routes, *alerts.routes,
    *compliance.routes, *webhooks.routes,
]
