"""Prometheus metrics: what happened in this process, counted as it happens.

Labels are bounded sets only: grant type, endpoint (the route's path template, never the raw
path), failure reason, status class, loop name. No client id (unbounded, and per-client figures
already live in the usage tables), and never a secret, token, digest or user name.

One process (tests, a single worker): every app has its own registry, so apps never count into
each other. Several workers (``keystead serve --workers N``): ``PROMETHEUS_MULTIPROC_DIR`` is set
before any worker starts, every worker writes its values there, and whichever worker answers a
scrape adds up all of them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Mount, Route

from keystead.protocol.errors import OAuthError

# Fixed sets, so the hot path binds its label children once at start-up.
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token",
               "urn:ietf:params:oauth:grant-type:saml2-bearer")
FAST_ENDPOINTS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
LOOPS = ("usage-flush", "housekeeping", "key-reload", "outbox", "access-reviews",
         "findings", "alerts", "secret-rotation")
UNMATCHED = "unmatched"  # a path no route serves: one label for all of them
# Why client authentication failed, from the protocol's fixed ``detail`` texts.
FAILURE_REASONS = {
    "unknown client": "unknown_client",
    "wrong or expired secret": "wrong_secret",
    "client is inactive": "client_inactive",
    "client is deleted": "client_deleted",
    "confidential client without its secret": "secret_missing",
    "client authentication is required": "no_credentials",
    "malformed Basic credentials": "malformed_credentials",
    "client is disabled": "client_inactive",
}
WRONG_METHOD_REASON = "wrong_method"  # "used client_secret_post, registered client_secret_basic"
OTHER_REASON = "other"
BEARER_REASON = "invalid_token"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 200 <= status < 600 else "5xx"


def route_labels(routes: Iterable[BaseRoute], prefix: str = "") -> dict[object, str]:
    """Each route's endpoint, mapped to its path template: the ``endpoint`` label."""
    labels: dict[object, str] = {}
    for route in routes:
        if isinstance(route, Route):
            labels.setdefault(route.endpoint, prefix + route.path)
        elif isinstance(route, Mount):
            if route.routes:
                labels.update(route_labels(route.routes, prefix + route.path))
            labels.setdefault(route.app, prefix + route.path)
    return labels


@dataclass(frozen=True, slots=True)
class ScrapeFigures:
    """What a scrape reads from the database (see store/health.py)."""

    database_up: bool
    secrets_past_rotation: int | None = None
    audit_events: int | None = None


class _Figures(Collector):
    def __init__(self, figures: ScrapeFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily("keystead_database_up",
                                "1 when a query answered within the scrape's deadline",
                                value=1 if self.figures.database_up else 0)
        if self.figures.secrets_past_rotation is not None:
            yield GaugeMetricFamily(
                "keystead_secrets_past_rotation_age",
                "Current client secrets older than KEYSTEAD_SECRET_ROTATION_DAYS",
                value=self.figures.secrets_past_rotation)
        if self.figures.audit_events is not None:
            yield CounterMetricFamily(
                "keystead_audit_events", "Audit events appended, all processes (chain length)",
                value=self.figures.audit_events)


class Metrics:
    """Every metric, with the hot path's label children bound once."""

    def __init__(self) -> None:
        self.multiprocess_dir = multiprocess_dir()
        # In multiprocess mode values live in files, and a scrape reads them all; registering
        # here too would count this worker twice.
        self.registry = CollectorRegistry(auto_describe=True)
        into = None if self.multiprocess_dir else self.registry
        self.tokens_issued = Counter(
            "keystead_tokens_issued", "Access tokens issued, by grant type", ["grant_type"],
            registry=into)
        self.auth_failures = Counter(
            "keystead_authentication_failures",
            "Failed client authentications and refused bearer tokens, by reason", ["reason"],
            registry=into)
        self.latency = Histogram(
            "keystead_request_duration_seconds", "Time to answer a request, by endpoint",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=into)
        self.responses = Counter(
            "keystead_responses", "Responses, by endpoint and status class",
            ["endpoint", "status"], registry=into)
        self.store_unavailable = Counter(
            "keystead_store_unavailable",
            "Requests and loop runs that found the database unreachable, by where",
            ["where"], registry=into)
        self.unexpected_errors = Counter(
            "keystead_unexpected_errors", "Unexpected errors (500s), by where", ["where"],
            registry=into)
        self.throttled = Counter(
            "keystead_throttled_requests", "Requests refused by a rate limit, by endpoint",
            ["endpoint"], registry=into)
        self.loop_runs = Counter(
            "keystead_loop_runs", "Background loop runs, by loop", ["loop"], registry=into)
        self.loop_failures = Counter(
            "keystead_loop_failures", "Background loop runs that failed, by loop", ["loop"],
            registry=into)
        self.loop_last_success = Gauge(
            "keystead_loop_last_success_timestamp_seconds",
            "When a loop last succeeded (the oldest over live workers)", ["loop"],
            multiprocess_mode="livemin", registry=into)
        self.flush_lag = Gauge(
            "keystead_usage_flush_lag_seconds",
            "Seconds since usage counts were last written while some wait (0: none wait); "
            "the largest over live workers", multiprocess_mode="livemax", registry=into)
        self.usage_held = Gauge(
            "keystead_usage_held_tokens", "Issued tokens counted in memory, not yet written",
            multiprocess_mode="livesum", registry=into)
        self.scheduled_rotations = Counter(
            "keystead_scheduled_secret_rotations",
            "Scheduled client-secret rotations, by result (delivered, failed: nothing changed)",
            ["result"], registry=into)
        for result in ("delivered", "failed"):  # present from the start, at 0
            self.scheduled_rotations.labels(result)
        self._issued = {g: self.tokens_issued.labels(g) for g in GRANT_TYPES}
        # Per fast endpoint: its latency child and a status code -> status-class child table,
        # filled as codes appear (a dict look-up per request instead of formatting the class).
        self._fast: dict[str, tuple[Any, dict[int, Any]]] = {
            path: (self.latency.labels(path), {}) for path in FAST_ENDPOINTS}
        for path in FAST_ENDPOINTS:  # present from the start, at 0
            for status in STATUS_CLASSES:
                self.responses.labels(path, status)
        self._reasons = {text: self.auth_failures.labels(label)
                         for text, label in FAILURE_REASONS.items()}
        for loop in LOOPS:  # present from the start, at 0
            self.loop_runs.labels(loop)
            self.loop_failures.labels(loop)
        for where in ("protocol", "api", "loop"):
            self.store_unavailable.labels(where)
        for endpoint in FAST_ENDPOINTS:
            self.throttled.labels(endpoint)

    # -- the hot path: a dict lookup and an increment each

    def token_issued(self, grant_type: str) -> None:
        child = self._issued.get(grant_type)
        (child if child is not None else self.tokens_issued.labels(OTHER_REASON)).inc()

    def fast_answered(self, path: str, status: int, seconds: float) -> None:
        latency, statuses = self._fast[path]
        latency.observe(seconds)
        child = statuses.get(status)
        if child is None:
            child = statuses[status] = self.responses.labels(path, status_class(status))
        child.inc()

    # -- everything else

    def answered(self, endpoint: str, status: int, seconds: float) -> None:
        self.latency.labels(endpoint).observe(seconds)
        self.responses.labels(endpoint, status_class(status)).inc()

    def authentication_failed(self, exc: OAuthError) -> None:
        reason = exc.detail or exc.description or ""
        child = self._reasons.get(reason)
        if child is None:
            child = self.auth_failures.labels(
                WRONG_METHOD_REASON if reason.startswith("used ") else OTHER_REASON)
        child.inc()

    def throttled_at(self, endpoint: str) -> None:
        self.throttled.labels(endpoint).inc()

    def unreachable(self, where: str) -> None:
        self.store_unavailable.labels(where).inc()

    def unexpected(self, where: str) -> None:
        self.unexpected_errors.labels(where).inc()

    def bearer_refused(self) -> None:
        self.auth_failures.labels(BEARER_REASON).inc()

    def ran(self, name: str, outcome: str) -> None:
        """One loop run: ``ok``, ``unreachable`` (the store) or ``failed`` (anything else)."""
        self.loop_runs.labels(name).inc()
        if outcome == "ok":
            self.loop_last_success.labels(name).set_to_current_time()
            return
        self.loop_failures.labels(name).inc()
        if outcome == "unreachable":
            self.store_unavailable.labels("loop").inc()

    def scheduled_rotations_done(self, *, delivered: int, failed: int) -> None:
        self.scheduled_rotations.labels("delivered").inc(delivered)
        self.scheduled_rotations.labels("failed").inc(failed)

    def usage(self, *, held: int, lag_seconds: float) -> None:
        self.usage_held.set(held)
        self.flush_lag.set(lag_seconds)

    def exposition(self, figures: ScrapeFigures) -> bytes:
        """The scrape: every process's values (multiprocess mode) or this app's, and figures."""
        registry = self.registry
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                registry, path=self.multiprocess_dir)
        scraped = CollectorRegistry()
        scraped.register(_Figures(figures))
        return generate_latest(registry) + generate_latest(scraped)

    def process_exited(self) -> None:
        """Drop this worker's live gauges (multiprocess mode) when it stops."""
        if self.multiprocess_dir:
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), self.multiprocess_dir)
