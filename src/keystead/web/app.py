"""create_app(settings): the ASGI application."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keystead.config import Settings
from keystead.domain.errors import DomainError, StoreUnavailableError
from keystead.domain.governance import alert_engine
from keystead.domain.governance.finding_engine import SYSTEM
from keystead.domain.housekeeping import KeptFor
from keystead.log_setup import configure_logging
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.web import authorize, delivery_runs, health, oauth
from keystead.web.api import (
    audits,
    authorization,
    clients,
    docs,
    identity_links,
    identity_providers,
    oauth_authorizations,
    scopes,
    secret_delivery,
    subjects,
    tokens,
    usage,
    user_data,
    users,
)
from keystead.web.api.governance import (
    alerts,
    compliance,
    deactivations,
    deletion_requests,
    findings,
    notices,
)
from keystead.web.api.governance import policy as governance_policy
from keystead.web.api.governance import reviews as review_api
from keystead.web.api.governance import webhooks as webhook_api
from keystead.web.console.routes import console_routes
from keystead.web.errors import (
    bearer_error,
    domain_error,
    http_error,
    internal_error,
    unavailable,
)
from keystead.web.fast_path import ProtocolFastPath
from keystead.web.metrics import Metrics
from keystead.web.outside_parts import database_probe, expected_revision
from keystead.web.readiness import Readiness
from keystead.web.runtime import Runtime, build_runtime, utc_now
from keystead.web.supervision import SupervisedLoop

log = logging.getLogger("keystead")
HOUSEKEEPING_INTERVAL_SECONDS = 60.0
# The findings engine re-evaluates every client this often (the issue asks at least daily).
FINDINGS_INTERVAL_SECONDS = 3600.0
# Alert rules compare against daily baselines and a window of minutes: every five minutes
# brings a burst of failures to someone's inbox promptly.
ALERTS_INTERVAL_SECONDS = 300.0
KEY_RELOAD_INTERVAL_SECONDS = 60.0
AUDIT_STREAM_INTERVAL_SECONDS = 1.0
# Each flush is a commit, which makes every worker drop its kept hot-path reads: not too often.
FLUSH_INTERVAL_SECONDS = 1.0
# Reminders are due days ahead and escalation at a due date: every five minutes is prompt.
REVIEWS_INTERVAL_SECONDS = 300.0


async def housekeeping(runtime: Runtime) -> None:
    """Purge what is due (see ``purge``), rotate the secrets whose schedule says so, then pick
    up rotated signing keys."""
    await purge(runtime)
    await rotate_secrets(runtime)
    await runtime.reload_keys()


async def rotate_secrets(runtime: Runtime, metrics: Metrics | None = None) -> None:
    """Rotate and deliver each client whose scheduled rotation is due, on one replica only
    (``SecretDelivery.stage_scheduled`` claims it first)."""
    delivered, failed = await delivery_runs.rotate_due(runtime)
    if metrics is not None:
        metrics.scheduled_rotations_done(delivered=delivered, failed=failed)
    if delivered:
        log.info("rotated and delivered %d client secret(s) on schedule", delivered)


async def purge(runtime: Runtime) -> None:
    """Carry out planned deactivations (and their reminders), delete clients whose
    dateToDelete has passed, revocations of expired tokens, usage
    counts past their retention, expired codes and refresh tokens, spent grant families,
    timed-out sessions, retired keys, spent assertion ids, and evidence, delivered messages and
    audit entries past the policy's retention (store/housekeeping.py, Runtime.archive_audit)."""
    async with runtime.transaction() as conn:
        # Planned deactivations first: a plan whose retention ended deletes its client.
        steps = await runtime.deactivations(conn).attend()
        # Under the deletionApproval policy, a due deletion becomes a request instead.
        deleted = await runtime.client_deletion(conn).purge_due()
        await runtime.time_rule_purges(conn).purge_expired(runtime.clock(), kept_for(runtime))
    await runtime.archive_audit()  # past auditRetentionDays: to a signed file, then removed
    if deleted:
        log.info("deleted %d client(s) whose dateToDelete passed", deleted)
    if steps:
        log.info("%d planned-deactivation step(s) taken (reminder, disable, delete)", steps)


def kept_for(runtime: Runtime) -> KeptFor:
    """The settings' time rules for housekeeping (the policy governs the rest)."""
    settings = runtime.settings
    return KeptFor(usage=timedelta(days=settings.usage_retention_days),
                   session_idle=timedelta(seconds=settings.session_idle_seconds),
                   notices=timedelta(days=settings.notice_retention_days),
                   delivery_log=timedelta(days=settings.webhook_delivery_retention_days))


async def evaluate_findings(runtime: Runtime) -> None:
    """Evaluate every client's findings (the engine's scheduled run, audited as the system).

    Every replica's loop calls it; a replica finding another one evaluating skips its round
    (``claim_findings_round``), so two never write the same findings at once.
    """
    async with runtime.transaction() as conn:
        if not await runtime.claim_findings_round(conn):
            log.info("findings: another replica is evaluating; skipped")
            return
        done = await runtime.findings(conn).evaluate(SYSTEM)
    log.info("findings evaluated: %d client(s), %d opened, %d resolved",
             done.clients, done.opened, done.resolved)


async def evaluate_alerts(runtime: Runtime) -> None:
    """Evaluate the alert rules (the scheduled run, as the system), on one replica at a time."""
    async with runtime.transaction() as conn:
        if not await runtime.claim_alerts_round(conn):
            log.info("alerts: another replica is evaluating; skipped")
            return
        done = await runtime.alerts(conn).evaluate(alert_engine.SYSTEM, scheduled=True)
    if done.raised or done.counted:
        log.info("alerts evaluated: %d raised, %d occurrence(s) counted", done.raised,
                 done.counted)


async def send_outbox(runtime: Runtime) -> None:
    """Deliver the outbox's due messages (notices by e-mail), as the ``outbox`` loop does."""
    if sent := await runtime.outbox_sender.send_due():
        log.info("sent %d outbox message(s)", sent)


async def stream_audit(runtime: Runtime) -> None:
    """Send the audit entries appended since the last round to KEYSTEAD_AUDIT_STREAM."""
    if runtime.audit_streamer is not None:
        await runtime.audit_streamer.stream()


async def attend_reviews(runtime: Runtime) -> None:
    """Do what access review due dates ask now (``ReviewManagement.attend``): reminders,
    escalation, the policy's unreviewed action, closing. Tests call it on their clock."""
    async with runtime.transaction() as conn:
        done = await runtime.reviews(conn).attend()
    if done.closed or done.reminded:
        log.info("access reviews: %d reminder(s), %d escalated, %d client(s) disabled, "
                 "%d campaign(s) closed", done.reminded, done.escalated, done.disabled,
                 done.closed)


class UsageFlush:
    """Add the usage counted in memory to the store (see HotStore); report what waits."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.written_at = time.monotonic()  # last time nothing was left waiting

    async def __call__(self) -> None:
        try:
            await self.runtime.hot.flush()
            self.written_at = time.monotonic()
        finally:
            held = self.runtime.hot.held()
            if not held:
                self.written_at = time.monotonic()
            self.metrics.usage(held=held, lag_seconds=time.monotonic() - self.written_at)
        # The failed authentications counted since the last flush (FailureTally): one entry per
        # client, source and reason per interval; kept for the next flush if this one fails.
        await self.runtime.flush_auth_failures()
        await self.runtime.flush_evidence()


def background_loops(runtime: Runtime, metrics: Metrics, *,
                     housekeeping: bool) -> list[SupervisedLoop]:
    """The usage flush (stopped, never cancelled: it flushes a last time), and unless tests
    turn them off, housekeeping and the signing-key reload, each supervised on its own."""
    loops = [SupervisedLoop("usage-flush", UsageFlush(runtime, metrics),
                            FLUSH_INTERVAL_SECONDS, final_run=True, max_backoff=30.0,
                            metrics=metrics)]
    if housekeeping:
        loops += [
            SupervisedLoop("housekeeping", lambda: purge(runtime), HOUSEKEEPING_INTERVAL_SECONDS,
                           metrics=metrics),
            SupervisedLoop("key-reload", runtime.reload_keys, KEY_RELOAD_INTERVAL_SECONDS,
                           metrics=metrics),
            SupervisedLoop("outbox", lambda: send_outbox(runtime),
                           runtime.settings.outbox_interval_seconds, metrics=metrics),
            SupervisedLoop("audit-stream", lambda: stream_audit(runtime),
                           AUDIT_STREAM_INTERVAL_SECONDS, metrics=metrics),
            SupervisedLoop("access-reviews", lambda: attend_reviews(runtime),
                           REVIEWS_INTERVAL_SECONDS, metrics=metrics),
            SupervisedLoop("findings", lambda: evaluate_findings(runtime),
                           FINDINGS_INTERVAL_SECONDS, metrics=metrics),
            SupervisedLoop("alerts", lambda: evaluate_alerts(runtime), ALERTS_INTERVAL_SECONDS,
                           metrics=metrics),
            # Apart from housekeeping: a slow vault must not hold up the purges.
            SupervisedLoop("secret-rotation", lambda: rotate_secrets(runtime, metrics),
                           HOUSEKEEPING_INTERVAL_SECONDS, metrics=metrics),
        ]
    return loops


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - Starlette types handlers loosely
    return http_error(request, exc)


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)  # noqa: S101 - Starlette types handlers loosely
    return domain_error(exc)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
               housekeeping_interval: bool = True) -> ProtocolFastPath:
    """Build the app; the database must have been initialised (``keystead init``).

    ``housekeeping_interval=False`` (tests) runs no housekeeping or key-reload loop: tests call
    ``housekeeping`` themselves, on their own clock. Configures the ``keystead`` loggers from
    ``settings`` (level and format).
    """
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, clock=clock, token_issued=metrics.token_issued)
        app.state.runtime = runtime
        loops = background_loops(runtime, metrics, housekeeping=housekeeping_interval)
        redis_client = _redis(settings)
        probe = database_probe(settings)
        app.state.readiness = Readiness(
            probe=probe, expected_revision=expected_revision(),
            signing_key_loaded=lambda: runtime.has_signing_key, loops=loops,
            redis_ping=redis_client.ping if redis_client is not None else None,
            timeout=settings.readiness_timeout_seconds)
        runtime.hot.start()
        for loop in loops:
            loop.start()
        await _warn_if_not_ready(app.state.readiness)
        try:
            yield
        finally:
            for loop in reversed(loops):  # the flush last: nothing else counts after it
                await loop.stop()
            try:
                await runtime.flush_auth_failures(final=True)
            except StoreUnavailableError:
                log.warning("authentication failures not written at shutdown: store unreachable")
            try:
                await runtime.flush_evidence()
            except StoreUnavailableError:
                log.warning("evidence of use not written at shutdown: store unreachable")
            if redis_client is not None:
                await redis_client.aclose()
            await probe.close()
            await runtime.close()
            metrics.process_exited()

    async def _unavailable(request: Request, _exc: Exception) -> Response:
        metrics.unreachable("api")
        return unavailable(request)

    async def _internal(request: Request, exc: Exception) -> Response:
        metrics.unexpected("api")
        return internal_error(request, exc)

    async def _bearer_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InvalidTokenError | InsufficientScopeError)  # noqa: S101
        if isinstance(exc, InvalidTokenError):
            metrics.bearer_refused()
        return bearer_error(exc)

    starlette = Starlette(
        routes=[*health.routes, *oauth.routes, *authorize.routes, *clients.routes,
                *scopes.routes, *authorization.routes, *audits.routes, *tokens.routes,
                *users.routes, *user_data.routes, *subjects.routes, *identity_providers.routes,
                *identity_links.routes, *oauth_authorizations.routes,
                *deactivations.routes, *governance_policy.routes, *notices.routes,
                *webhook_api.routes,
                *compliance.routes,
                *deletion_requests.routes, *review_api.routes, *findings.routes, *alerts.routes,
                *secret_delivery.routes, *usage.routes, *docs.routes,
                *console_routes()],
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            DomainError: _domain_error,
            InvalidTokenError: _bearer_error,
            InsufficientScopeError: _bearer_error,
            StoreUnavailableError: _unavailable,
            Exception: _internal,
        },
    )
    starlette.state.metrics = metrics
    return ProtocolFastPath(starlette, metrics)


def _redis(settings: Settings) -> Redis | None:
    url = settings.redis_url.get_secret_value()
    if not url:
        return None
    timeout = settings.readiness_timeout_seconds
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


async def _warn_if_not_ready(readiness: Readiness) -> None:
    """Say at start-up what readiness will refuse (a schema behind the code, above all)."""
    report = await readiness.report()
    for problem in report.problems:
        if not problem.startswith("loops:"):
            log.warning("not ready: %s", problem)
