"""An app's runtime from a test: run a coroutine on its loop, start another replica."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.support.clock import ManualClock

T = TypeVar("T")


def run(http: TestClient, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run a coroutine on the app's event loop, with its runtime."""
    assert http.portal is not None
    return http.portal.call(work, runtime_of(http))


def runtime_of(http: TestClient) -> Runtime:
    runtime: Runtime = http.app.state.runtime  # type: ignore[attr-defined]
    return runtime


@contextmanager
def serve(settings: Settings, *,
          clock: Callable[[], datetime] | None = None) -> Iterator[TestClient]:
    """Another app over the same database, as a second replica would be, on ``clock`` (by
    default its own ManualClock, from now: tests never wait for time to pass)."""
    app = create_app(settings, clock=clock or ManualClock(), housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def flush_failures(http: TestClient, *, final: bool = True) -> None:
    """Write the tallied failed client authentications now, as the background flush does
    (``final``: as at shutdown, whether or not the interval has ended)."""

    async def work(runtime: Runtime) -> None:
        await runtime.flush_auth_failures(final=final)

    run(http, work)
