"""The clock every use case reads the time from: injected, so tests drive a manual one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

Clock = Callable[[], datetime]


def last_days(now: datetime, count: int) -> tuple[date, ...]:
    """The last ``count`` UTC days up to ``now``'s, oldest first (the days charts are kept by)."""
    today = now.astimezone(UTC).date()
    return tuple(today - timedelta(days=n) for n in range(count - 1, -1, -1))
