"""Brute force against client secrets, tried and throttled over HTTP: after the failures the
policy allows, /oauth/token, /oauth/introspect and /oauth/revoke answer 429 with Retry-After for
that client from that address (even with the right secret), nobody else is refused because of
them, and the block lifts when the window has passed (manual clock). Through Redis, two replicas
share counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.protocol.test_throttle import redis_url  # noqa: F401 - the Redis fixture
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, token
from tests.web.test_metrics import METRICS_TOKEN, SCRAPE, value

CC = {"grant_type": "client_credentials"}
ATTACKER = ("203.0.113.66", 40000)
ELSEWHERE = ("198.51.100.7", 40000)


def _throttled(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"throttle_client_failures": 5,
                                       "throttle_source_failures": 12,
                                       "throttle_window_seconds": 60, **changes})


@contextmanager
def _app(settings: Settings, clock: ManualClock,
         address: tuple[str, int] = ATTACKER) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock, housekeeping_interval=False),
                    base_url="http://testserver", client=address) as http:
        yield http


def _assert_throttled(response: httpx2.Response) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["retry-after"]) <= 60
    assert response.json()["error"] == "temporarily_unavailable"
    assert "www-authenticate" not in response.headers


def test_throttle_refuses_a_guessed_client_after_its_failures(settings: Settings,
                                                              clock: ManualClock) -> None:
    with _app(_throttled(settings), clock) as http:
        victim = bootstrap(http, name="victim", roles=["Super Admin"])
        other = bootstrap(http, name="bystander", roles=["Super Admin"])
        for _ in range(5):
            wrong = http.post("/oauth/token", data=CC, auth=(victim.id, "guess"))
            assert wrong.status_code == 401
        _assert_throttled(http.post("/oauth/token", data=CC, auth=(victim.id, "guess")))
        # A lucky guess would get through otherwise: the right secret is refused too, on every
        # endpoint that authenticates clients.
        _assert_throttled(http.post("/oauth/token", data=CC, auth=victim.basic_auth))
        _assert_throttled(http.post("/oauth/introspect", data={"token": "x"},
                                    auth=victim.basic_auth))
        _assert_throttled(http.post("/oauth/revoke", data={"token": "x"},
                                    auth=victim.basic_auth))
        # Another client from the same address was not guessed at.
        assert http.post("/oauth/token", data=CC, auth=other.basic_auth).status_code == 200
        clock.advance(61)
        assert http.post("/oauth/token", data=CC, auth=victim.basic_auth).status_code == 200


def test_throttle_refuses_an_address_spraying_client_ids(settings: Settings,
                                                         clock: ManualClock) -> None:
    with _app(_throttled(settings), clock) as http:
        admin = bootstrap(http, name="ops", roles=["Super Admin"])
        for n in range(12):
            assert http.post("/oauth/token", data=CC,
                             auth=(f"sprayed-{n}", "guess")).status_code == 401
        _assert_throttled(http.post("/oauth/token", data=CC, auth=(f"sprayed-{99}", "x")))
        _assert_throttled(http.post("/oauth/token", data=CC, auth=admin.basic_auth))


def test_throttle_audits_throttled_attempts_without_a_row_each(settings: Settings,
                                                               clock: ManualClock) -> None:
    with _app(_throttled(settings), clock) as http:
        victim = bootstrap(http, name="victim", roles=["Super Admin"])
        headers = bearer(token(http, bootstrap(http, name="auditor", roles=["Super Admin"])))
        for _ in range(5 + 200):
            http.post("/oauth/token", data=CC, auth=(victim.id, "guess"))
        entries = http.post("/api/v2/audits/query/realtime", headers=headers, json={
            "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", "pageSize": 500,
            "filters": [{"property": "entityId", "value": victim.id}]}).json()["entities"]
        failures = [e for e in entries if e["action"] == "authenticate"]
        assert 1 <= len(failures) <= 4  # first of each reason, not one per attempt


def test_throttle_counts_are_shared_by_replicas_through_redis(
        settings: Settings, clock: ManualClock, redis_url: str) -> None:  # noqa: F811
    shared = _throttled(settings, redis_url=SecretStr(redis_url))
    # Redis outlives the test run: an address of this run's own keeps earlier runs' counts out.
    attacker = (f"2001:db8::{uuid.uuid4().hex[:4]}", 40000)
    with _app(shared, clock, attacker) as first, _app(shared, clock, attacker) as second, \
            _app(shared, clock, ELSEWHERE) as legitimate:
        victim: Registered = bootstrap(first, name="victim", roles=["Super Admin"])
        for replica in (first, second, first, second, first):
            assert replica.post("/oauth/token", data=CC,
                                auth=(victim.id, "guess")).status_code == 401
        # The second replica saw two of the five: it lets the next guess be tried (401), and that
        # failure finds the shared count full and blocks it there too.
        assert second.post("/oauth/token", data=CC,
                           auth=(victim.id, "guess")).status_code == 401
        _assert_throttled(second.post("/oauth/token", data=CC, auth=victim.basic_auth))
        _assert_throttled(first.post("/oauth/token", data=CC, auth=victim.basic_auth))
        # The owner of the secret, calling from its own address, is never refused for them.
        assert legitimate.post("/oauth/token", data=CC,
                               auth=victim.basic_auth).status_code == 200


@pytest.mark.parametrize("endpoint", ["/oauth/introspect", "/oauth/revoke"])
def test_throttle_counts_failures_on_every_authenticating_endpoint(
        settings: Settings, clock: ManualClock, endpoint: str) -> None:
    with _app(_throttled(settings), clock) as http:
        victim = bootstrap(http, name="victim", roles=["Super Admin"])
        for _ in range(5):
            assert http.post(endpoint, data={"token": "x"},
                             auth=(victim.id, "guess")).status_code == 401
        _assert_throttled(http.post("/oauth/token", data=CC, auth=victim.basic_auth))


def test_throttled_requests_are_counted_in_metrics(settings: Settings, clock: ManualClock) -> None:
    with _app(_throttled(settings, metrics_token=SecretStr(METRICS_TOKEN)), clock) as http:
        victim = bootstrap(http, name="victim", roles=["Super Admin"])
        for _ in range(5 + 3):
            http.post("/oauth/token", data=CC, auth=(victim.id, "guess"))
        scrape = http.get("/metrics", headers=SCRAPE)
    assert scrape.status_code == 200
    assert value(scrape.text, "keystead_throttled_requests_total", endpoint="/oauth/token") == 3
    assert value(scrape.text, "keystead_authentication_failures_total",
                 reason="wrong_secret") == 5
