"""Password guessing from one address, spread over many accounts so no account's own lockout
trips: after the policy's failures the address gets 429 with Retry-After, even with the right
password, until the window has passed (manual clock)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Person, create_user, csrf_of, sign_in
from tests.support.apps import serve
from tests.support.clock import ManualClock


@pytest.fixture
def throttled(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with serve(settings.model_copy(update={"throttle_source_failures": 5,
                                           "throttle_window_seconds": 60}), clock=clock) as http:
        yield http


def _log_in(http: TestClient, email: str, password: str) -> httpx2.Response:
    page = http.get("/login")
    return http.post("/login", data={"email": email, "password": password, "next": "/admin",
                                     "csrf_token": csrf_of(page.text)})


def test_sign_in_throttles_an_address_guessing_passwords(throttled: TestClient,
                                                         clock: ManualClock) -> None:
    person: Person = create_user(throttled, "ada@example.com")
    for n in range(5):
        assert _log_in(throttled, f"nobody{n}@example.com",
                       "Wrong-password-123").status_code == 401
    blocked = _log_in(throttled, person.email, person.password)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    # Not signed in: the console still sends the browser to the sign-in page.
    assert throttled.get("/admin", follow_redirects=False).status_code in (302, 303)
    clock.advance(61)
    sign_in(throttled, person)  # the window has passed: the right password works again
