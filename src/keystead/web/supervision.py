"""Supervised background loops: a failure is logged and retried with back-off, never fatal.

Each loop keeps a heartbeat on the monotonic clock (loops run on real time, whatever clock the
app was given), which readiness reads: a loop is alive while its task runs and, between attempts, it
has started one within twice the wait it announced after the last; an attempt may run for up
to ``stuck_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from keystead.domain.errors import StoreUnavailableError

MAX_BACKOFF_SECONDS = 60.0
# How long one attempt may run before the loop counts as stuck: long enough for a write that
# waits out SQLite's busy timeout or a slow database, short enough to be noticed.
STUCK_AFTER_SECONDS = 120.0


class LoopMetrics(Protocol):
    def ran(self, name: str, outcome: str) -> None:
        """One run: ``ok``, ``unreachable`` (the store) or ``failed`` (anything else)."""


class Unmeasured:
    def ran(self, name: str, outcome: str) -> None:
        del name, outcome


@dataclass(slots=True)
class SupervisedLoop:
    """Run ``work`` every ``interval`` seconds until stopped.

    Stopped by ``stop()``, never cancelled, when ``final_run`` is set: the work then runs a last
    time (the usage flush must not leave counts behind, and a cancelled write would leave its
    thread writing through a connection that shutdown closes). Without it, ``stop()`` cancels.
    """

    name: str
    work: Callable[[], Awaitable[None]]
    interval: float
    final_run: bool = False
    max_backoff: float = MAX_BACKOFF_SECONDS
    stuck_after: float = STUCK_AFTER_SECONDS
    metrics: LoopMetrics = field(default_factory=Unmeasured)
    # The heartbeat's clock; a test that looks at a fast loop passes one that stands still.
    monotonic: Callable[[], float] = time.monotonic
    runs: int = 0
    failures: int = 0  # in a row; 0 after a success
    last_error: str = ""
    last_beat: float = 0.0  # on ``monotonic``; set by start()
    next_wait: float = 0.0
    attempt_started: float | None = None  # monotonic; None between attempts
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"keystead.{self.name}")

    def start(self) -> None:
        self.next_wait = self.interval
        self.last_beat = self.monotonic()
        self._task = asyncio.create_task(self._run(), name=f"keystead.{self.name}")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        if not self.final_run:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def problem(self) -> str | None:
        """Why the loop is not alive, or None while it is."""
        if self._task is None:
            return "not started"
        if self._task.done():
            return "stopped"
        now = self.monotonic()
        if self.attempt_started is not None:
            busy = now - self.attempt_started
            return f"one attempt running for {busy:.0f} s" if busy > self.stuck_after else None
        silent = now - self.last_beat
        if silent > 2 * max(self.next_wait, self.interval):
            return f"no attempt for {silent:.0f} s (expected every {self.next_wait:.0f} s)"
        return None

    def status(self) -> dict[str, object]:
        return {"alive": self.problem() is None, "runs": self.runs,
                "failures_in_a_row": self.failures, "last_error": self.last_error}

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.next_wait)
            self.last_beat = self.monotonic()
            await self._attempt()
            self.next_wait = self.interval if self.failures == 0 else self._backoff()
            self.last_beat = self.monotonic()
            if self._stopping.is_set():
                return

    async def _attempt(self) -> None:
        self.runs += 1
        self.attempt_started = self.monotonic()
        try:
            await self.work()
        except StoreUnavailableError as exc:
            self._failed(f"store unreachable ({exc})", "unreachable")
            self.log.warning("%s failed, retrying in %.0f s: store unreachable", self.name,
                             self._backoff(), exc_info=True)
        # The one place a broad except is right: whatever the work raised, the loop must go on
        # (a dead flush loses usage counts, a dead housekeeper never purges again). Logged with
        # its traceback, counted, retried with back-off.
        except Exception as exc:
            self._failed(type(exc).__name__, "failed")
            self.log.error("%s failed, retrying in %.0f s", self.name, self._backoff(),
                           exc_info=True)
        else:
            self.failures = 0
            self.last_error = ""
            self.metrics.ran(self.name, "ok")
        finally:
            self.attempt_started = None

    def _failed(self, error: str, outcome: str) -> None:
        self.failures += 1
        self.last_error = error
        self.metrics.ran(self.name, outcome)

    def _backoff(self) -> float:
        return min(self.interval * 2.0 ** self.failures, self.max_backoff)
