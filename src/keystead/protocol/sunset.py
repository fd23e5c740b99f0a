"""The headers that tell a client's developers, from its own token responses, that it is being
retired: ``Deprecation`` (RFC 9745 §2: a Structured Field Date, ``@`` and Unix seconds) since
the deactivation was planned, and ``Sunset`` (RFC 8594 §3: an HTTP-date) when it ends."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime


def sunset_headers(deprecated_at: datetime | None,
                   sunset_at: datetime) -> list[tuple[bytes, bytes]]:
    headers = [(b"sunset", format_datetime(sunset_at, usegmt=True).encode("ascii"))]
    if deprecated_at is not None:
        headers.insert(0, (b"deprecation", f"@{int(deprecated_at.timestamp())}".encode("ascii")))
    return headers
