"""A page view does not write: the session's last-seen time is written at most once a minute
(less for a short idle timeout), and the idle timeout still ends an idle session on time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.database import sqlite_path
from keystead.store.sessions import SqlSessionStore
from keystead.web.console.sessions import SESSION_COOKIE, touch_interval
from keystead.web.runtime import Runtime
from tests.factories import ManualClock, run, serve
from tests.people import PASSWORD, create_user, csrf_of


@pytest.fixture
def signed_in(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """The console on ``clock``, signed in as a user without permissions (no second factor)."""
    with serve(settings, clock=clock) as http:
        create_user(http, "reader@example.com")
        page = http.get("/login")
        landed = http.post("/login", data={"email": "reader@example.com", "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": "/admin"})
        assert landed.url.path == "/admin"
        yield http


def _last_seen(http: TestClient, cookie: str = "") -> datetime | None:
    """The stored last-seen time of the session ``cookie`` names (by default the current one);
    None once it is ended."""
    cookie = cookie or http.cookies[SESSION_COOKIE]

    async def work(runtime: Runtime) -> datetime | None:
        digest = runtime.digester.session(cookie)
        assert digest is not None
        async with runtime.transaction() as conn:
            row = await SqlSessionStore(conn).find(digest)
        return row.last_seen_at if row else None

    return run(http, work)


def test_page_view_within_the_minute_leaves_last_seen_as_it_was(
        signed_in: TestClient, clock: ManualClock) -> None:
    seen = _last_seen(signed_in)
    clock.advance(59)
    assert signed_in.get("/admin", follow_redirects=False).status_code == 200
    assert signed_in.get("/admin/connected-apps", follow_redirects=False).status_code == 200
    assert _last_seen(signed_in) == seen


def test_page_view_after_a_minute_records_the_activity(signed_in: TestClient,
                                                        clock: ManualClock) -> None:
    clock.advance(60)
    assert signed_in.get("/admin", follow_redirects=False).status_code == 200
    assert _last_seen(signed_in) == clock.now


def test_page_view_within_the_minute_commits_nothing_on_sqlite(
        settings: Settings, signed_in: TestClient, clock: ManualClock) -> None:
    path = sqlite_path(settings.database_url)
    if path is None:
        pytest.skip("PRAGMA data_version is SQLite's")
    watcher = sqlite3.connect(path)
    try:
        before = watcher.execute("PRAGMA data_version").fetchone()
        clock.advance(30)
        assert signed_in.get("/admin", follow_redirects=False).status_code == 200
        # data_version moves when any other connection commits a change: the token hot
        # path's kept reads are dropped on exactly that.
        assert watcher.execute("PRAGMA data_version").fetchone() == before
    finally:
        watcher.close()


def test_idle_timeout_counts_from_the_last_recorded_activity(signed_in: TestClient,
                                                             clock: ManualClock) -> None:
    cookie = signed_in.cookies[SESSION_COOKIE]
    clock.advance(30)  # within the minute: not recorded
    assert signed_in.get("/admin", follow_redirects=False).status_code == 200
    clock.advance(15 * 60 - 30)  # fifteen minutes after the last recorded activity
    expired = signed_in.get("/admin", follow_redirects=False)
    assert expired.status_code == 303
    assert "notice=expired" in expired.headers["location"]
    assert _last_seen(signed_in, cookie) is None  # ended, not kept alive by the unrecorded view


def test_active_session_outlives_its_idle_timeout_by_recorded_views(
        signed_in: TestClient, clock: ManualClock) -> None:
    for _ in range(3):
        clock.advance(15 * 60 - 61)  # the view before was recorded: it was a minute late
        assert signed_in.get("/admin", follow_redirects=False).status_code == 200


def test_short_idle_timeout_is_recorded_more_often(settings: Settings,
                                                  clock: ManualClock) -> None:
    short = settings.model_copy(update={"session_idle_seconds": 30})
    with serve(short, clock=clock) as http:
        create_user(http, "reader@example.com")
        page = http.get("/login")
        http.post("/login", data={"email": "reader@example.com", "password": PASSWORD,
                                  "csrf_token": csrf_of(page.text), "next": "/admin"})
        for _ in range(5):  # a view every 20 s keeps a 30 s session alive
            clock.advance(20)
            assert http.get("/admin", follow_redirects=False).status_code == 200
        clock.advance(30)
        assert http.get("/admin", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("idle", "interval"), [
    pytest.param(900, 60, id="a-minute"),
    pytest.param(60, 6, id="a-tenth-of-a-short-timeout"),
])
def test_touch_interval(idle: int, interval: int) -> None:
    assert touch_interval(timedelta(seconds=idle)) == timedelta(seconds=interval)
