"""Fixtures of the governance tests: the app e-mailing notices to a real local SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.support.clock import ManualClock
from tests.support.servers import reserved_port
from tests.support.smtp import mailing_app


@pytest.fixture
def smtp_port() -> int:
    return reserved_port()


@pytest.fixture
def http(settings: Settings, clock: ManualClock, smtp_port: int) -> Iterator[TestClient]:
    """The app on ``clock``, e-mailing notices to 127.0.0.1:``smtp_port`` (no STARTTLS)."""
    with mailing_app(settings, clock, smtp_port) as client:
        yield client
