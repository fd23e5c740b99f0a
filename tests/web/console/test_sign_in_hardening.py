"""Sign-in rules that attacks with a password (or a stolen session) try to get around."""

from __future__ import annotations

import asyncio
import re

import pyotp
from starlette.testclient import TestClient

from keystead.domain.signin import FREE_FAILURES
from keystead.store.audit import AuditQuery, SqlAuditLog
from keystead.store.users import SqlCredentialStore
from keystead.web.runtime import Runtime
from tests.people import PASSWORD, create_user, csrf_of, sign_in
from tests.support.apps import run


def test_parallel_wrong_passwords_are_each_counted(http: TestClient) -> None:
    person = create_user(http, "reader@example.com")

    async def attempt(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.sign_in(conn).with_password(person.email, "wrong-password-42",
                                                      remote_ip="203.0.113.9")

    async def race(runtime: Runtime) -> tuple[int, bool]:
        await asyncio.gather(*(attempt(runtime) for _ in range(8)))
        async with runtime.transaction() as conn:
            found = await SqlCredentialStore(conn).credentials(user_id=person.id)
        assert found is not None
        return found.failed_logins, found.locked_until is not None

    # Each attempt reads the count under a row lock: none is lost, the fifth locks the account
    # and the rest are refused as locked (without the lock they all read the same count).
    assert run(http, race) == (FREE_FAILURES, True)


def test_a_stale_enrolment_page_cannot_replace_an_enrolled_factor(http: TestClient) -> None:
    victim = create_user(http, "admin@example.com", roles=("OAuth Admin",))
    page = http.get("/login")
    stale = http.post("/login", data={"email": victim.email, "password": PASSWORD,
                                      "csrf_token": csrf_of(page.text), "next": "/admin"})
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', stale.text)
    assert found
    attacker_cookies = dict(http.cookies)
    http.cookies.clear()
    sign_in(http, victim)  # the real user enrols their own authenticator meanwhile
    http.cookies.clear()
    for name, value in attacker_cookies.items():
        http.cookies.set(name, value)
    late = http.post("/login/enrol", data={"code": pyotp.TOTP(found.group(1)).now(),
                                           "csrf_token": csrf_of(stale.text)})
    assert late.url.path != "/login/recovery-codes"
    assert http.get("/admin", follow_redirects=False).status_code == 303
    http.cookies.clear()
    sign_in(http, victim)  # the victim's own factor still works


def test_changing_your_own_password_needs_the_current_one(http: TestClient) -> None:
    person = create_user(http, "reader@example.com")
    sign_in(http, person)
    page = http.get(f"/admin/users/{person.id}")
    refused = http.post(f"/admin/users/{person.id}", data={
        "csrf_token": csrf_of(page.text), "name": "reader", "email": person.email,
        "state": "active", "password": "a-stolen-session-pw-1"})
    assert refused.status_code == 400
    assert "current password" in refused.text
    accepted = http.post(f"/admin/users/{person.id}", data={
        "csrf_token": csrf_of(page.text), "name": "reader", "email": person.email,
        "state": "active", "password": "a-brand-new-passphrase-9",
        "currentPassword": PASSWORD})
    assert accepted.status_code == 200
    assert "/login" in str(accepted.url)  # a new password ends every session, this one too


def test_a_non_ascii_csrf_token_is_refused_not_a_crash(http: TestClient) -> None:
    create_user(http, "reader@example.com")
    response = http.post("/login", data={"email": "reader@example.com", "password": PASSWORD,
                                         "csrf_token": "\u00e9"})
    assert response.status_code == 403


def test_a_password_typed_as_the_e_mail_is_not_audited(http: TestClient) -> None:
    page = http.get("/login")
    http.post("/login", data={"email": "Tr0ub4dor&3-secret", "password": "x",
                              "csrf_token": csrf_of(page.text), "next": "/admin"})

    async def names(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            found, _ = await SqlAuditLog(conn).query(AuditQuery(action="user.login"))
        return repr([(e.event.actor_name, e.event.entity_name) for e in found])

    recorded = run(http, names)
    assert "Tr0ub4dor" not in recorded
    assert "not an e-mail address" in recorded
