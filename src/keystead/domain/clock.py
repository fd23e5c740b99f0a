"""The clock every use case reads the time from: injected, so tests drive a manual one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
