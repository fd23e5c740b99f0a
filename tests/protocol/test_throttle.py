"""The failed-authentication throttle on its real counters: process memory, and Redis shared by two
replicas. Blocking is per (client, source) and per source; nobody else's failures block a client;
the block lifts when the window has passed (manual clock)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import redis

from keystead.protocol.throttle import Throttle, ThrottlePolicy
from keystead.store.failure_counter import LimitsFailureCounter
from tests.support.clock import ManualClock
from tests.support.needs import missing

REDIS_URL = os.environ.get("KEYSTEAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POLICY = ThrottlePolicy(client_failures=5, source_failures=12, window_seconds=60)
Scenario = Callable[[Callable[[ManualClock], Throttle]], Coroutine[Any, Any, None]]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not _redis_up():
        missing(f"Redis at {REDIS_URL} is not reachable")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def counter_url(request: pytest.FixtureRequest) -> str:
    """'' for process memory, else Redis's URL."""
    return str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""


def run(counter_url: str, scenario: Scenario) -> None:
    """Run ``scenario`` in one event loop (a worker's), with a factory of throttles on it."""
    def make(clock: ManualClock) -> Throttle:
        return Throttle(LimitsFailureCounter(counter_url), POLICY, clock)
    asyncio.run(scenario(make))


async def _fail(throttle: Throttle, client_id: str | None, source: str, times: int) -> None:
    for _ in range(times):
        await throttle.failed(client_id, source)


def _new_id() -> str:
    return uuid.uuid4().hex  # each test's own keys in a shared Redis


def test_throttle_blocks_a_client_and_source_after_its_failures(counter_url: str) -> None:
    async def scenario(make: Callable[[ManualClock], Throttle]) -> None:
        throttle = make(ManualClock())
        client, other, source = _new_id(), _new_id(), f"10.1.{_new_id()[:2]}.1"
        await _fail(throttle, client, source, POLICY.client_failures - 1)
        assert throttle.retry_after(client, source) is None
        await _fail(throttle, client, source, 1)
        wait = throttle.retry_after(client, source)
        assert wait is not None
        assert 0 < wait <= POLICY.window_seconds
        # Nobody else is refused because of these failures.
        assert throttle.retry_after(client, f"{source}0") is None
        assert throttle.retry_after(other, source) is None
    run(counter_url, scenario)


def test_throttle_blocks_a_source_spraying_many_clients(counter_url: str) -> None:
    async def scenario(make: Callable[[ManualClock], Throttle]) -> None:
        throttle = make(ManualClock())
        source = f"203.0.113.{_new_id()[:6]}"
        for _ in range(POLICY.source_failures):
            await _fail(throttle, _new_id(), source, 1)  # one guess each: no client key fills
        assert throttle.retry_after(_new_id(), source) is not None
        assert throttle.retry_after(_new_id(), f"{source}-elsewhere") is None
    run(counter_url, scenario)


def test_throttle_lifts_when_the_window_has_passed(counter_url: str) -> None:
    async def scenario(make: Callable[[ManualClock], Throttle]) -> None:
        clock = ManualClock()
        throttle = make(clock)
        client, source = _new_id(), "198.51.100.7"
        await _fail(throttle, client, source, POLICY.client_failures)
        wait = throttle.retry_after(client, source)
        assert wait is not None
        clock.advance(wait - 1)
        assert throttle.retry_after(client, source) is not None
        clock.advance(1)
        assert throttle.retry_after(client, source) is None
    run(counter_url, scenario)


def test_throttle_counts_are_shared_between_replicas_through_redis(redis_url: str) -> None:
    async def scenario(make: Callable[[ManualClock], Throttle]) -> None:
        first, second = make(ManualClock()), make(ManualClock())
        client, source = _new_id(), "192.0.2.44"
        await _fail(first, client, source, POLICY.client_failures - 1)
        assert second.retry_after(client, source) is None  # it has seen no failure yet
        await _fail(second, client, source, 1)  # its first failure reaches the shared limit
        assert second.retry_after(client, source) is not None
        await _fail(first, client, source, 1)
        assert first.retry_after(client, source) is not None
    run(redis_url, scenario)


def test_throttle_keeps_client_ids_out_of_redis(redis_url: str) -> None:
    client = "visible-client-" + _new_id()

    async def scenario(make: Callable[[ManualClock], Throttle]) -> None:
        await _fail(make(ManualClock()), client, "192.0.2.99", 1)
    run(redis_url, scenario)
    keys = [str(k) for k in redis.Redis.from_url(REDIS_URL).keys("*keystead-throttle*")]
    assert keys
    assert not [k for k in keys if client in k]
