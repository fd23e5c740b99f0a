"""Waiting, with a deadline, for what another process did to show."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# A deadline for correctness, not a speed target: the change feed's documented bound is 100 ms.
SEEN_WITHIN_SECONDS = 5.0


def once_seen(read: Callable[[], T], expected: T, *, within: float = SEEN_WITHIN_SECONDS) -> T:
    """What ``read()`` returns once it is ``expected``, or its last answer at the deadline.

    For a change another process committed (the CLI, another replica): a serving app sees it
    when the change feed tells it (a PostgreSQL NOTIFY), not at once.
    """
    deadline = time.monotonic() + within
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return value
