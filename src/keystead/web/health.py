"""GET /health/live, /health/ready (for load balancers) and /metrics (for Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import StoreUnavailableError
from keystead.web.errors import json_response
from keystead.web.metrics import Metrics, ScrapeFigures
from keystead.web.readiness import Readiness
from keystead.web.runtime import Runtime

NO_STORE = {"cache-control": "no-store"}
METRICS_CHALLENGE = {"www-authenticate": 'Bearer realm="keystead-metrics"'}
SCRAPE_DEADLINE_SECONDS = 1.0


async def live(_request: Request) -> Response:
    """The process serves requests; nothing else is asked (no database)."""
    return json_response({"status": "live"}, 200, NO_STORE)


async def ready(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    report = await readiness.report()
    return json_response(report.body(), 200 if report.ready else 503, NO_STORE)


async def metrics(request: Request) -> Response:
    """Prometheus text exposition, only to ``Authorization: Bearer <KEYSTEAD_METRICS_TOKEN>``.

    Without the setting there is no such endpoint (404); a missing or wrong token gets 401.
    """
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.metrics_token.get_secret_value()
    if not expected:
        return Response("Not Found", 404, media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                             expected.encode()):
        return Response("Unauthorized", 401, {**METRICS_CHALLENGE, **NO_STORE},
                        media_type="text/plain")
    recorder: Metrics = request.app.state.metrics
    body = recorder.exposition(await _figures(runtime, request.app.state.readiness))
    return Response(body, 200, NO_STORE, media_type=CONTENT_TYPE_PLAIN_0_0_4)


async def _figures(runtime: Runtime, readiness: Readiness) -> ScrapeFigures:
    """What only the database knows, read at scrape time within a short deadline."""
    before = runtime.clock() - timedelta(days=runtime.settings.secret_rotation_days)
    try:
        stale, appended = await asyncio.wait_for(
            readiness.probe.figures(created_before=before), SCRAPE_DEADLINE_SECONDS)
    except (StoreUnavailableError, TimeoutError):
        return ScrapeFigures(database_up=False)
    return ScrapeFigures(database_up=True, secrets_past_rotation=stale, audit_events=appended)


routes = [
    Route("/health/live", live),
    Route("/health/ready", ready),
    Route("/metrics", metrics),
]
