"""Fixtures for the web tests: an app whose store the test makes unreachable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from keystead.config import Settings
from keystead.store.database import sqlite_path
from tests.outages import CutOff, TcpValve, remove_sqlite_file
from tests.support.apps import serve
from tests.support.clients import Registered

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def cut_off(settings: Settings, store: str, admin: Registered) -> Iterator[CutOff]:
    """A freshly started app, and a function that makes its store unreachable."""
    if store == "postgres":
        url = make_url(settings.resolved_database_url)
        valve = TcpValve(url.host or "127.0.0.1", url.port or 5432)
        proxied = url.set(host="127.0.0.1", port=valve.port).render_as_string(hide_password=False)
        with serve(settings.model_copy(update={"database_url": proxied})) as app:
            assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
            yield app, valve.shut
        valve.shut()
    else:
        path = sqlite_path(settings.resolved_database_url)
        assert path is not None
        with serve(settings) as app:
            yield app, lambda: remove_sqlite_file(path)
