"""Real-browser fixtures: Debian's Chromium, driven by Playwright, against Keystead behind a real
uvicorn on a loopback port, on a ManualClock the test moves (the browser never waits for time).

Browser tests run on SQLite only (the HTTP-level tests cover PostgreSQL). People and roles are
set up through a second app on the same database file, as another replica would see them; the
browser only ever talks to the uvicorn server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, ViewportSize, sync_playwright

from keystead.config import Settings
from tests.browser.console import Admin, Server
from tests.people import Person
from tests.support.apps import serve
from tests.support.clock import ManualClock
from tests.support.needs import missing
from tests.support.servers import reserved_port, uvicorn_on

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = ViewportSize(width=1280, height=800)


@pytest.fixture
def store() -> str:
    """SQLite only: overrides the sqlite+postgres parametrisation of tests/conftest.py."""
    return "sqlite"


@pytest.fixture(scope="package")
def playwright(sqlite_template: Path) -> Iterator[Playwright]:
    """The Playwright driver. Its sync API marks an event loop as running on this thread while it
    lives, so anything calling asyncio.run() (the template database) must happen first, and it
    must stop before the rest of the suite runs (package scope)."""
    assert sqlite_template.exists()
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright's own browser download needs a network we do not have: use Debian's Chromium.
    # --no-sandbox because CI runs as root, where Chromium's sandbox refuses to start.
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    yield launched
    launched.close()


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(settings: Settings) -> Iterator[StartServer]:
    """Start Keystead with ``Settings`` overrides, e.g. ``start_server(session_idle_seconds=2)``."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> Server:
            port = reserved_port()
            url = f"http://127.0.0.1:{port}"
            live = settings.model_copy(update={"issuer": url, **overrides})
            clock = ManualClock()  # both apps, as replicas, keep one time
            http = stack.enter_context(serve(live, clock=clock))
            stack.enter_context(uvicorn_on(live, port, clock=clock))
            return Server(url, http, live, clock)

        yield start


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


OpenBrowser = Callable[[Server, Person], Admin]


@pytest.fixture
def open_browser(browser: Browser) -> Iterator[OpenBrowser]:
    """A fresh browser profile (no cookies) for ``person`` on ``server``, 1280 px wide."""
    contexts: list[BrowserContext] = []

    def open_(server: Server, person: Person) -> Admin:
        context = browser.new_context(base_url=server.url, viewport=VIEWPORT,
                                      accept_downloads=True,
                                      permissions=["clipboard-read", "clipboard-write"])
        # Pages come from a loopback server in well under a second: fail fast when one is missing.
        context.set_default_timeout(10_000)
        contexts.append(context)
        admin = Admin(context.new_page(), server, person)
        admin.watch()
        return admin

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def root(server: Server, open_browser: OpenBrowser) -> Admin:
    """A browser signed in to the console as a Super Admin who enrolled TOTP on the way in."""
    admin = open_browser(server, server.person())
    admin.sign_in()
    return admin
