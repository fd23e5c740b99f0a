"""Fixtures of the governance tests: the app e-mailing notices to a real local SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.clock import ManualClock
from tests.support.servers import reserved_port


@pytest.fixture
def smtp_port() -> int:
    return reserved_port()


@pytest.fixture
def http(settings: Settings, clock: ManualClock, smtp_port: int) -> Iterator[TestClient]:
    """The app on ``clock``, e-mailing notices to 127.0.0.1:``smtp_port`` (no STARTTLS)."""
    mailed = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                                         "smtp_starttls": False, "smtp_timeout_seconds": 2.0,
                                         "smtp_from": "keystead@example.com"})
    app = create_app(mailed, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client
