"""People for console and user-API tests: users made as the operator makes them, and signed in
through the real sign-in pages (password, TOTP enrolment or a TOTP code)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
from httpx2 import Response
from starlette.testclient import TestClient

from keystead.domain.clients import RoleDivision
from keystead.domain.mfa import STEP_SECONDS
from keystead.domain.principal import operator
from keystead.store.catalog import SqlCatalog
from keystead.store.roles import SqlRoleStore
from keystead.web.runtime import Runtime
from tests.support.apps import run, runtime_of
from tests.support.clock import ManualClock

PASSWORD = "violet-harbour-lantern-7"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


@dataclass
class Person:
    id: str
    email: str
    clock: Callable[[], datetime]  # of the app the person was made on: it checks their codes
    password: str = PASSWORD
    totp_secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    last_step: int = 0

    def next_code(self, clock: Callable[[], datetime] | None = None) -> str:
        """A TOTP code Keystead has not seen yet, at the time of ``clock`` (the app's that checks
        it; the person's own by default).

        Keystead accepts one step of drift, each step once: when the steps it would take now are
        used up, a ManualClock moves on to the next one rather than the test waiting for it.

        Raises:
            RuntimeError: used up on an app that runs on the wall clock.
        """
        assert self.totp_secret is not None
        clock = clock or self.clock
        now_step = int(clock().timestamp()) // STEP_SECONDS
        step = max(self.last_step + 1, now_step)
        if step > now_step + 1:
            if not isinstance(clock, ManualClock):
                raise RuntimeError("no fresh TOTP code until the next step: run the app on a "
                                   "ManualClock")
            clock.advance(step * STEP_SECONDS - clock().timestamp())
        self.last_step = step
        return pyotp.TOTP(self.totp_secret).at(step * STEP_SECONDS)


def create_user(http: TestClient, email: str, *, roles: tuple[str, ...] = (),
                password: str | None = PASSWORD, name: str = "") -> Person:
    """A user holding ``roles`` (by name) in the Home division."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            users, catalog = runtime.users(conn), SqlCatalog(conn)
            user = await users.create(operator(), name=name or email.split("@")[0],
                                      email=email, password=password)
            home = await catalog.home_division_id()
            for role_name in roles:
                role = await SqlRoleStore(conn).by_name(role_name)
                assert role is not None, role_name
                await users.grant(operator(), user.id, RoleDivision(role.id, home))
            return user.id

    return Person(run(http, work), email, clock_of(http), password or "")


def clock_of(http: TestClient) -> Callable[[], datetime]:
    """The app's clock: a ManualClock but where a test built the app itself
    (``tests/conftest.py``, ``support.apps.serve``)."""
    return runtime_of(http).clock


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(http: TestClient, person: Person) -> None:
    """Sign in through the pages, enrolling TOTP first when Keystead asks for it."""
    page = http.get("/login")
    response = http.post("/login", data={"email": person.email, "password": person.password,
                                         "csrf_token": csrf_of(page.text), "next": "/admin"})
    assert response.status_code == 200, response.text
    if response.url.path == "/login/enrol":
        found = _TOTP_SECRET.search(response.text)
        assert found
        person.totp_secret = found.group(1)
        response = http.post("/login/enrol", data={"code": person.next_code(clock_of(http)),
                                                   "csrf_token": csrf_of(response.text)})
        assert response.url.path == "/login/recovery-codes", response.text
        person.recovery_codes = re.findall(r"<li><code>([a-z0-9-]+)</code>", response.text)
        response = http.post("/login/recovery-codes",
                             data={"csrf_token": csrf_of(response.text)})
    elif response.url.path == "/login/mfa":
        response = http.post("/login/mfa", data={"code": person.next_code(clock_of(http)),
                                                 "csrf_token": csrf_of(response.text)})
    assert response.url.path.startswith("/admin"), (response.url, response.text[:500])


@dataclass
class Console:
    """A TestClient signed in to the console as ``person``."""

    http: TestClient
    person: Person

    def csrf(self) -> str:
        return csrf_of(self.http.get("/admin").text)

    def post(self, path: str, data: dict[str, str | list[str]] | None = None,
             *, follow_redirects: bool = True) -> Response:
        """POST a console form with the session's CSRF token."""
        return self.http.post(path, data={**(data or {}), "csrf_token": self.csrf()},
                              follow_redirects=follow_redirects)
