"""Readiness: may a load balancer send this process traffic right now?

Ready only when the database answers a real query within the deadline, its schema is at the
revision this code expects, a signing key is loaded, every background loop of this process is
alive and, when ``KEYSTEAD_REDIS_URL`` is set, Redis answers. Nothing is cached: concurrent
checks share one probe, and the next check after it probes again. The report names what is
wrong and never holds a URL, secret or server message (it is served without authentication).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keystead.domain.errors import StoreUnavailableError
from keystead.web.supervision import SupervisedLoop

Ping = Callable[[], Awaitable[object]]


class DatabaseProbe(Protocol):
    """What readiness and a metrics scrape ask the database, each on a connection of its own
    (``store/health.py``)."""

    async def revision(self) -> str | None: ...

    async def figures(self, *, created_before: datetime) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class Report:
    checks: dict[str, dict[str, Any]]

    @property
    def problems(self) -> list[str]:
        return [f"{name}: {check['problem']}" for name, check in self.checks.items()
                if not check["ok"]]

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not ready", "problems": self.problems,
                "checks": self.checks}


def _ok(**details: Any) -> dict[str, Any]:
    return {"ok": True, **details}


def _failed(problem: str, **details: Any) -> dict[str, Any]:
    return {"ok": False, "problem": problem, **details}


class Readiness:
    def __init__(self, *, probe: DatabaseProbe, expected_revision: str,
                 signing_key_loaded: Callable[[], bool], loops: Sequence[SupervisedLoop],
                 redis_ping: Ping | None, timeout: float) -> None:
        self.probe = probe
        self.expected_revision = expected_revision
        self.signing_key_loaded = signing_key_loaded
        self.loops = loops
        self.redis_ping = redis_ping
        self.timeout = timeout
        self._running: asyncio.Future[Report] | None = None

    async def report(self) -> Report:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._check())
        # Shielded: a poller that hangs up must not cancel the probe others are waiting on.
        return await asyncio.shield(self._running)

    async def _check(self) -> Report:
        database, redis = await asyncio.gather(self._database(), self._redis())
        checks: dict[str, dict[str, Any]] = {"database": database[0],
                                             "migrations": database[1]}
        checks["signing_key"] = (_ok() if self.signing_key_loaded()
                                 else _failed("no signing key loaded"))
        checks["loops"] = self._loops()
        if redis is not None:
            checks["redis"] = redis
        return Report(checks)

    async def _database(self) -> tuple[dict[str, Any], dict[str, Any]]:
        started = time.monotonic()
        try:
            revision = await asyncio.wait_for(self.probe.revision(), self.timeout)
        except TimeoutError:
            problem = f"no answer within {self.timeout:g} s"
            return _failed(problem), _failed("unknown: the database did not answer")
        except StoreUnavailableError as exc:
            problem = f"unreachable ({_reason(exc)})"
            return _failed(problem), _failed("unknown: the database did not answer")
        answered = _ok(seconds=round(time.monotonic() - started, 4))
        if revision == self.expected_revision:
            return answered, _ok(revision=revision)
        return answered, _failed(
            f"database schema at {revision or 'no revision'}, this code needs "
            f"{self.expected_revision}: run `keystead init`",
            revision=revision, expected=self.expected_revision)

    def _loops(self) -> dict[str, Any]:
        states = {loop.name: loop.status() for loop in self.loops}
        dead = [f"{loop.name} {problem}" for loop in self.loops
                if (problem := loop.problem()) is not None]
        if dead:
            return _failed("; ".join(dead), loops=states)
        return _ok(loops=states)

    async def _redis(self) -> dict[str, Any] | None:
        if self.redis_ping is None:
            return None
        try:
            await asyncio.wait_for(self.redis_ping(), self.timeout)
        except TimeoutError:
            return _failed(f"no answer within {self.timeout:g} s")
        # redis raises its own errors and OSError subclasses; report the kind, never the text
        # (it can hold the URL). Anything else is a bug that must not become a 500 here.
        except Exception as exc:  # noqa: BLE001
            return _failed(f"unreachable ({type(exc).__name__})")
        return _ok()


def _reason(exc: StoreUnavailableError) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else "store unavailable"
