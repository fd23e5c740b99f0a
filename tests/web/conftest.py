"""Fixtures for the web tests: an app whose store the test makes unreachable."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.database import sqlite_path
from tests.factories import Registered, serve
from tests.web.test_store_unavailable import CC, Plug, _remove_sqlite_file

CutOff = tuple[TestClient, Callable[[], None]]


@pytest.fixture
def cut_off(settings: Settings, store: str, admin: Registered) -> Iterator[CutOff]:
    """A freshly started app, and a function that makes its store unreachable."""
    if store == "postgres":
        url = make_url(settings.resolved_database_url)
        plug = Plug(url.host or "127.0.0.1", url.port or 5432)
        proxied = url.set(host="127.0.0.1", port=plug.port).render_as_string(hide_password=False)
        with serve(settings.model_copy(update={"database_url": proxied})) as app:
            assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 200
            yield app, plug.pull
        plug.pull()
    else:
        path = sqlite_path(settings.resolved_database_url)
        assert path is not None
        with serve(settings) as app:
            yield app, lambda: _remove_sqlite_file(path)
