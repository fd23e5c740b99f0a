"""Console sign-in over HTTP: password, TOTP enrolment and codes, recovery codes, lockout with
back-off, server-side sessions (rotation, sign-out, idle and absolute limits), cookies, CSRF."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from httpx2 import Response
from pydantic import ValidationError
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.clients import RoleDivision
from keystead.domain.principal import operator
from keystead.store.audit import AuditQuery, SqlAuditLog
from keystead.store.catalog import SqlCatalog
from keystead.store.roles import SqlRoleStore
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.people import PASSWORD, Console, Person, create_user, csrf_of, sign_in
from tests.support.apps import run, serve
from tests.support.clock import ManualClock

LOGIN_ACTIONS = ("user.login", "user.mfa.enrol", "user.mfa.recovery-code.use")


def _password_step(http: TestClient, email: str, password: str, *,
                   next_path: str = "/admin") -> Response:
    page = http.get("/login")
    return http.post("/login", data={"email": email, "password": password,
                                     "csrf_token": csrf_of(page.text), "next": next_path})


def _login_events(http: TestClient) -> list[dict[str, Any]]:
    """The audit entries of sign-in, newest first, read through the store."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.transaction() as conn:
            found, _ = await SqlAuditLog(conn).query(AuditQuery(page_size=500))
        return [{"action": e.event.action, "result": str(e.event.result),
                 "details": e.event.details, "actor": e.event.actor_name}
                for e in found if e.event.action in LOGIN_ACTIONS]

    return run(http, work)


@pytest.fixture
def clocked_http(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with serve(settings, clock=clock) as client:
        yield client


def test_console_sends_strangers_to_sign_in(http: TestClient) -> None:
    response = http.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin"


def test_admin_enrols_totp_at_first_sign_in(console: Console) -> None:
    assert console.person.totp_secret is not None
    assert len(set(console.person.recovery_codes)) == 10
    assert console.http.get("/admin").status_code == 200


def test_admin_cannot_skip_enrolment(http: TestClient) -> None:
    create_user(http, "admin@example.com", roles=("OAuth Admin",))
    response = _password_step(http, "admin@example.com", PASSWORD)
    assert response.url.path == "/login/enrol"
    skipped = http.get("/admin", follow_redirects=False)
    assert skipped.status_code == 303
    assert skipped.headers["location"].startswith("/login")


def test_enrolment_page_draws_the_qr_code_locally(http: TestClient) -> None:
    create_user(http, "admin@example.com", roles=("OAuth Admin",))
    page = _password_step(http, "admin@example.com", PASSWORD)
    assert 'src="data:image/svg+xml' in page.text
    assert "http://" not in page.text.split("<main", 1)[1].split("</main>")[0]


def test_enrolment_with_a_wrong_code_keeps_the_user_at_enrolment(http: TestClient) -> None:
    create_user(http, "admin@example.com", roles=("OAuth Admin",))
    page = _password_step(http, "admin@example.com", PASSWORD)
    wrong = http.post("/login/enrol", data={"code": "000000",
                                            "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 400
    assert "did not match" in wrong.text
    assert http.get("/admin", follow_redirects=False).status_code == 303


def test_user_without_admin_rights_signs_in_with_a_password_alone(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    response = _password_step(http, "reader@example.com", PASSWORD)
    assert response.url.path == "/admin"


def test_a_role_granted_mid_session_requires_mfa_before_the_next_page(http: TestClient) -> None:
    person = create_user(http, "reader@example.com")
    _password_step(http, person.email, PASSWORD)

    async def grant(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            catalog = SqlCatalog(conn)
            role = await SqlRoleStore(conn).by_name("OAuth Admin")
            assert role is not None
            await runtime.users(conn).grant(
                operator(), person.id, RoleDivision(role.id, await catalog.home_division_id()))

    run(http, grant)
    assert http.get("/admin", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("email", "password"), [
    pytest.param("root@example.com", "not-the-password-1", id="wrong-password"),
    pytest.param("nobody@example.com", PASSWORD, id="unknown-email"),
])
def test_sign_in_refusal_reveals_nothing(http: TestClient, email: str, password: str) -> None:
    create_user(http, "root@example.com", roles=("Super Admin",))
    response = _password_step(http, email, password)
    assert response.status_code == 401
    assert "e-mail or password is wrong" in response.text
    assert password not in response.text
    assert http.get("/admin", follow_redirects=False).status_code == 303


def test_inactive_user_cannot_sign_in(http: TestClient) -> None:
    person = create_user(http, "gone@example.com")

    async def deactivate(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.users(conn).update(
                operator(), person.id, name="gone", email=person.email, state="inactive")

    run(http, deactivate)
    assert _password_step(http, person.email, PASSWORD).status_code == 401


def test_repeated_failures_lock_sign_in_with_back_off(clocked_http: TestClient,
                                                      clock: ManualClock,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    person = create_user(clocked_http, "reader@example.com")
    for _ in range(5):
        assert _password_step(clocked_http, person.email, "wrong-password-42").status_code == 401
    # Locked: even the right password is refused, and the refusal is audited as such.
    assert _password_step(clocked_http, person.email, PASSWORD).status_code == 401
    events = _login_events(clocked_http)
    assert events[0]["details"]["reason"] == "locked"
    assert any("lockedUntil" in e["details"] for e in events[1:])
    clock.advance(31)
    assert _password_step(clocked_http, person.email, PASSWORD).url.path == "/admin"
    text = caplog.text + repr(_login_events(clocked_http))
    assert PASSWORD not in text
    assert "wrong-password-42" not in text


def test_lock_doubles_after_each_further_failure(clocked_http: TestClient,
                                                 clock: ManualClock) -> None:
    person = create_user(clocked_http, "reader@example.com")
    for _ in range(5):
        _password_step(clocked_http, person.email, "wrong-password-42")
    clock.advance(31)
    _password_step(clocked_http, person.email, "wrong-password-42")  # sixth: 60 s
    clock.advance(45)
    assert _password_step(clocked_http, person.email, PASSWORD).status_code == 401
    clock.advance(20)
    assert _password_step(clocked_http, person.email, PASSWORD).status_code == 200


def _second_sign_in(http: TestClient, person: Person, code: str) -> Response:
    http.cookies.clear()
    page = _password_step(http, person.email, person.password)
    assert page.url.path == "/login/mfa"
    return http.post("/login/mfa", data={"code": code, "csrf_token": csrf_of(page.text)})


def test_wrong_totp_code_is_refused(console: Console) -> None:
    refused = _second_sign_in(console.http, console.person, "123456")
    assert refused.status_code == 401
    assert console.http.get("/admin", follow_redirects=False).status_code == 303


def test_a_totp_code_is_accepted_once(console: Console) -> None:
    code = console.person.next_code()
    assert _second_sign_in(console.http, console.person, code).url.path == "/admin"
    replayed = _second_sign_in(console.http, console.person, code)
    assert replayed.status_code == 401


def test_a_recovery_code_signs_in_once(console: Console) -> None:
    code = console.person.recovery_codes[0]
    assert _second_sign_in(console.http, console.person, code.upper()).url.path == "/admin"
    assert _second_sign_in(console.http, console.person, code).status_code == 401
    used = [e for e in _login_events(console.http) if e["action"] == "user.mfa.recovery-code.use"]
    assert len(used) == 1
    assert code not in repr(_login_events(console.http))


def test_recovery_codes_are_shown_once(http: TestClient) -> None:
    person = create_user(http, "admin@example.com", roles=("OAuth Admin",))
    page = _password_step(http, person.email, PASSWORD)
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert found
    secret = found.group(1)
    shown = http.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(),
                                            "csrf_token": csrf_of(page.text)})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code>", shown.text)
    assert len(codes) == 10
    again = http.get("/login/recovery-codes")
    assert not set(codes) & set(re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", again.text))
    assert "shown once" in again.text


def test_session_id_changes_at_each_sign_in_step(http: TestClient) -> None:
    person = create_user(http, "admin@example.com", roles=("OAuth Admin",))
    _password_step(http, person.email, PASSWORD)
    after_password = http.cookies.get("ks_session")
    sign_in(http, person)  # a fresh sign-in: password, then enrolment
    after_mfa = http.cookies.get("ks_session")
    assert after_password
    assert after_mfa != after_password
    http.cookies.clear()
    http.cookies.set("ks_session", after_password)
    assert http.get("/admin", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    cookie = console.http.cookies.get("ks_session")
    assert console.post("/logout").url.path == "/login"
    assert cookie
    console.http.cookies.clear()
    console.http.cookies.set("ks_session", cookie)
    assert console.http.get("/admin", follow_redirects=False).status_code == 303


def test_sign_out_without_csrf_token_is_refused(console: Console) -> None:
    refused = console.http.post("/logout")
    assert refused.status_code == 403
    assert console.http.get("/admin").status_code == 200


def test_sign_in_form_without_csrf_token_is_refused(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    refused = http.post("/login", data={"email": "reader@example.com", "password": PASSWORD})
    assert refused.status_code == 403
    assert http.get("/admin", follow_redirects=False).status_code == 303


def _signed_in_on(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    assert _password_step(http, "reader@example.com", PASSWORD).url.path == "/admin"


def test_idle_session_is_signed_out_after_fifteen_minutes(clocked_http: TestClient,
                                                          clock: ManualClock) -> None:
    _signed_in_on(clocked_http)
    clock.advance(14 * 60)
    assert clocked_http.get("/admin", follow_redirects=False).status_code == 200
    clock.advance(14 * 60)  # each request restarts the idle clock
    assert clocked_http.get("/admin", follow_redirects=False).status_code == 200
    clock.advance(15 * 60)
    expired = clocked_http.get("/admin", follow_redirects=False)
    assert expired.status_code == 303
    assert "notice=expired" in expired.headers["location"]
    assert "inactivity" in clocked_http.get(expired.headers["location"]).text


def test_shorter_idle_timeout_is_honoured(settings: Settings, clock: ManualClock) -> None:
    short = settings.model_copy(update={"session_idle_seconds": 60})
    with serve(short, clock=clock) as http:
        _signed_in_on(http)
        clock.advance(61)
        assert http.get("/admin", follow_redirects=False).status_code == 303


def test_idle_timeout_above_fifteen_minutes_is_refused() -> None:
    with pytest.raises(ValidationError, match="session_idle_seconds"):
        Settings(session_idle_seconds=901)


def test_session_ends_at_its_absolute_lifetime(settings: Settings, clock: ManualClock) -> None:
    hourly = settings.model_copy(update={"session_lifetime_seconds": 3600})
    with serve(hourly, clock=clock) as http:
        _signed_in_on(http)
        for _ in range(4):
            clock.advance(14 * 60)
            assert http.get("/admin", follow_redirects=False).status_code == 200
        clock.advance(5 * 60)
        assert http.get("/admin", follow_redirects=False).status_code == 303


def test_session_cookie_is_httponly_and_samesite_lax(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    response = _password_step(http, "reader@example.com", PASSWORD)
    cookie = next(h for h in response.history[0].headers.get_list("set-cookie")
                  if h.startswith("ks_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in this test


def test_session_cookie_is_secure_over_https(settings: Settings) -> None:
    https = settings.model_copy(update={"issuer": "https://keystead.example"})
    with TestClient(create_app(https, housekeeping_interval=False),
                    base_url="https://keystead.example") as http:
        create_user(http, "reader@example.com")
        response = _password_step(http, "reader@example.com", PASSWORD)
        cookie = next(h for h in response.history[0].headers.get_list("set-cookie")
                      if h.startswith("__Host-ks_session="))
        assert "Secure" in cookie


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(http: TestClient, target: str) -> None:
    create_user(http, "reader@example.com")
    response = _password_step(http, "reader@example.com", PASSWORD, next_path=target)
    assert response.url.host == "testserver"
    assert response.url.path == "/admin"


def test_sign_in_returns_to_the_page_asked_for(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    response = _password_step(http, "reader@example.com", PASSWORD, next_path="/admin?x=1")
    assert str(response.url).endswith("/admin?x=1")


@pytest.mark.parametrize("path", ["/login", "/admin"])
def test_console_pages_carry_the_security_headers(http: TestClient, path: str) -> None:
    if path == "/admin":
        sign_in(http, create_user(http, "root@example.com", roles=("Super Admin",)))
    response = http.get(path)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    # Admin forms post only here; sign-in forms may end in a redirect to an OAuth client.
    assert ("form-action 'self'" in csp) is (response.url.path == "/admin")


@pytest.mark.parametrize("change", [
    pytest.param({"password": "a-brand-new-passphrase-9"}, id="new-password"),
    pytest.param({"state": "inactive"}, id="deactivated"),
])
def test_a_new_password_or_deactivation_signs_the_user_out(http: TestClient,
                                                           change: dict[str, str]) -> None:
    person = create_user(http, "reader@example.com")
    assert _password_step(http, person.email, PASSWORD).url.path == "/admin"

    async def update(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.users(conn).update(
                operator(), person.id, name="reader", email=person.email,
                state=change.get("state", "active"), password=change.get("password"))

    run(http, update)
    assert http.get("/admin", follow_redirects=False).status_code == 303
