"""Inviting a person from the console (issue 14 §2): the e-mail reaches a real SMTP server, its
one-time link sets a password and leads through TOTP enrolment to a signed-in console; links
used, expired, revoked, replaced, tampered with or of an inactive user are refused alike; the
token is kept nowhere but in the e-mail (not the database, audit, logs, pages or the outbox)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.outbox import SENT_BODY
from keystead.store.tables import metadata
from keystead.web.runtime import Runtime
from tests.people import Console, Person, create_user, csrf_of, sign_in
from tests.support.apps import run
from tests.support.clients import Registered
from tests.support.clock import ManualClock
from tests.support.management import audit_events, home_division_id, role_id
from tests.support.servers import reserved_port
from tests.support.smtp import Mailbox, mailing_app, smtp_server
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows, send

INVITEE = "ivy@example.com"
CHOSEN = "quartz-willow-harbour-91"
_LINK = re.compile(r"http://testserver(/admin/invite/\S+)")
_TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
NO_LONGER_VALID = "This invitation is no longer valid; ask your admin for a new one."


@pytest.fixture
def smtp_port() -> int:
    return reserved_port()


@pytest.fixture
def http(settings: Settings, clock: ManualClock, smtp_port: int) -> Iterator[TestClient]:
    """The app on ``clock``, e-mailing through 127.0.0.1:``smtp_port`` (no STARTTLS)."""
    with mailing_app(settings, clock, smtp_port) as client:
        yield client


def _invite(console: Console, *, grant: str = "", email: str = INVITEE) -> str:
    """Invite ``email`` from the Add-user form; the new user's id."""
    http = console.http
    form = http.get("/admin/users/new")
    assert form.status_code == 200
    response = http.post("/admin/users/new", data={
        "name": "Ivy Invitee", "email": email, "grant": grant, "method": "invite",
        "csrf_token": csrf_of(form.text)})
    assert response.status_code == 200, response.text
    assert "an invitation is on its way" in response.text
    return str(response.url.path.removeprefix("/admin/users/"))


def _mailed_link(http: TestClient, smtp_port: int, email: str = INVITEE) -> str:
    """Run the outbox against a real SMTP server; the path of the link e-mailed to ``email``."""
    with smtp_server(smtp_port) as mailbox:
        send(http)
    return _link_in(mailbox, email)


def _link_in(mailbox: Mailbox, email: str) -> str:
    mail = mailbox.to(email)[-1]
    assert mail["Subject"] == "You are invited to Keystead"
    raw = mail.get_payload(decode=True)
    assert isinstance(raw, bytes)
    found = _LINK.search(raw.decode())
    assert found, raw.decode()
    return found.group(1)


def _everything_stored(http: TestClient) -> str:
    """Every row of every table, as text."""

    async def work(runtime: Runtime) -> str:
        dumped = []
        async with runtime.transaction() as conn:
            for table in metadata.sorted_tables:
                dumped.append(repr((await conn.execute(select(table))).all()))
        return "\n".join(dumped)

    return run(http, work)


def _accept(browser: TestClient, link: str, password: str = CHOSEN) -> Any:
    page = browser.get(link)
    assert page.status_code == 200, page.text
    return browser.post(link, data={"password": password, "csrf_token": csrf_of(page.text)})


def _enrol(browser: TestClient, response: Any, person: Person) -> Any:
    """From the enrolment page the invitation led to, through the recovery codes."""
    assert response.url.path == "/login/enrol", response.text
    found = _TOTP_SECRET.search(response.text)
    assert found
    person.totp_secret = found.group(1)
    codes = browser.post("/login/enrol", data={"code": person.next_code(),
                                                "csrf_token": csrf_of(response.text)})
    assert codes.url.path == "/login/recovery-codes", codes.text
    return browser.post("/login/recovery-codes", data={"csrf_token": csrf_of(codes.text)})


def _refused(browser: TestClient, link: str) -> None:
    page = browser.get(link)
    assert page.status_code == 404
    assert NO_LONGER_VALID in page.text
    assert 'name="password"' not in page.text
    token = csrf_of(browser.get("/login").text)  # the invalid page has no form of its own
    posted = browser.post(link, data={"password": CHOSEN, "csrf_token": token})
    assert posted.status_code == 404
    assert NO_LONGER_VALID in posted.text


def test_invited_person_sets_a_password_enrols_totp_and_is_signed_in(
        console: Console, clocked: TestClient, headers: dict[str, str], smtp_port: int,
        clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="keystead")
    http = console.http
    grant = f"{role_id(http, headers, 'Super Admin')}:{home_division_id(http, headers)}"
    user_id = _invite(console, grant=grant)
    page = http.get(f"/admin/users/{user_id}")
    expires = (clock() + timedelta(hours=72)).strftime("%Y-%m-%d %H:%M UTC")
    assert f"expires {expires}" in page.text
    assert "Send again" in page.text
    assert "Revoke" in page.text

    link = _mailed_link(http, smtp_port)
    token = link.removeprefix("/admin/invite/")
    assert len(token) >= 43  # 256 random bits, URL-safe, after the key id
    # Sent: the outbox keeps the message but not the link.
    outbox = str(rows(http, "SELECT payload FROM outbox"))
    assert token not in outbox
    assert SENT_BODY in outbox

    # The invitee, in a browser of their own (another replica on the same clock).
    invitee = Person(user_id, INVITEE, clock, CHOSEN)
    weak = _accept(clocked, link, password="password")
    assert weak.status_code == 400
    assert 'aria-invalid="true"' in weak.text  # the rule beside the field; the link still works
    done = _enrol(clocked, _accept(clocked, link), invitee)
    assert done.url.path == "/admin", done.url
    assert "Ivy Invitee" in clocked.get("/admin").text  # signed in as themselves
    assert clocked.get("/admin/users").status_code == 200  # with the role they were given

    _refused(clocked, link)  # used once, done: not twice
    http.cookies.clear()
    _refused(http, link)

    actions = [e["action"] for e in audit_events(http, headers, entity_id=user_id)]
    assert {"create", "grant.add", "user.invited", "user.invitation.accepted",
            "user.mfa.enrol"} <= set(actions)
    assert token not in _everything_stored(http)
    assert token not in caplog.text
    assert "/admin/invite/…" in caplog.text  # the access lines name the page, not the token
    assert token not in page.text


def test_expired_link_is_refused_and_send_again_gives_a_new_one(
        console: Console, clocked: TestClient, smtp_port: int, clock: ManualClock,
        admin: Registered) -> None:
    http = console.http
    user_id = _invite(console)
    first = _mailed_link(http, smtp_port)
    clock.advance(72 * 3600 - 1)
    assert clocked.get(first).status_code == 200  # a second before it expires
    clock.advance(1)
    _refused(clocked, first)
    http.cookies.clear()  # three days on, the admin signs in again
    sign_in(http, console.person)
    page = http.get(f"/admin/users/{user_id}")
    assert "expired" in page.text

    sent = http.post(f"/admin/users/{user_id}/invitation/send",
                     data={"csrf_token": csrf_of(page.text)})
    assert "A new invitation is on its way" in sent.text
    second = _mailed_link(http, smtp_port)
    assert second != first
    _refused(clocked, first)
    assert _accept(clocked, second).url.path == "/login/enrol"
    fresh = bearer(token(http, admin))
    actions = [e["action"] for e in audit_events(http, fresh, entity_id=user_id)]
    assert actions.count("user.invited") == 2


def test_send_again_kills_the_earlier_link(console: Console, clocked: TestClient,
                                           smtp_port: int) -> None:
    http = console.http
    user_id = _invite(console)
    first = _mailed_link(http, smtp_port)
    page = http.get(f"/admin/users/{user_id}")
    http.post(f"/admin/users/{user_id}/invitation/send", data={"csrf_token": csrf_of(page.text)})
    second = _mailed_link(http, smtp_port)
    _refused(clocked, first)
    assert clocked.get(second).status_code == 200


def test_revoked_link_is_refused_and_audited(console: Console, clocked: TestClient,
                                             smtp_port: int, headers: dict[str, str]) -> None:
    http = console.http
    user_id = _invite(console)
    link = _mailed_link(http, smtp_port)
    page = http.get(f"/admin/users/{user_id}")
    revoked = http.post(f"/admin/users/{user_id}/invitation/revoke",
                        data={"csrf_token": csrf_of(page.text)})
    assert "Invitation revoked" in revoked.text
    assert "revoked: its link no longer works" in revoked.text
    _refused(clocked, link)
    actions = [e["action"] for e in audit_events(http, headers, entity_id=user_id)]
    assert "user.invitation.revoked" in actions


def test_tampered_and_made_up_links_are_refused(console: Console, clocked: TestClient,
                                                smtp_port: int) -> None:
    _invite(console)
    link = _mailed_link(console.http, smtp_port)
    flipped = link[:-1] + ("A" if link[-1] != "A" else "B")
    for bad in (flipped, link + "x", link.split(".", 1)[0] + ".", "/admin/invite/x",
                "/admin/invite/" + "a" * 500, "/admin/invite/nokey" + link[-43:]):
        _refused(clocked, bad)
    assert clocked.get(link).status_code == 200  # the real one still works


def _edit_user(console: Console, clock: ManualClock, user_id: str, **fields: str) -> None:
    """Save the user's page a minute later, as an admin would, with ``fields`` changed."""
    clock.advance(60)
    page = console.http.get(f"/admin/users/{user_id}")
    saved = console.http.post(f"/admin/users/{user_id}", data={
        "name": "Ivy Invitee", "email": INVITEE, "state": "active",
        "csrf_token": csrf_of(page.text), **fields})
    assert saved.status_code == 200, saved.text


def test_link_dies_when_the_admin_sets_a_password_instead(
        console: Console, clocked: TestClient, smtp_port: int, clock: ManualClock) -> None:
    """"I never got the mail": the admin sets a password; the mailed link must not replace it."""
    user_id = _invite(console)
    link = _mailed_link(console.http, smtp_port)
    _edit_user(console, clock, user_id, password="admin-chosen-password-77")
    _refused(clocked, link)


def test_link_sent_to_a_mistyped_address_dies_when_the_address_is_corrected(
        console: Console, clocked: TestClient, smtp_port: int, clock: ManualClock) -> None:
    user_id = _invite(console, email="ivy@exmaple.com")
    link = _mailed_link(console.http, smtp_port, email="ivy@exmaple.com")
    _edit_user(console, clock, user_id, email=INVITEE)
    _refused(clocked, link)


def test_link_stays_dead_when_its_user_is_deactivated_then_activated_again(
        console: Console, clocked: TestClient, smtp_port: int, clock: ManualClock) -> None:
    user_id = _invite(console)
    link = _mailed_link(console.http, smtp_port)
    _edit_user(console, clock, user_id, state="inactive")
    _edit_user(console, clock, user_id, state="active")
    _refused(clocked, link)


def test_link_of_a_deactivated_user_is_refused(console: Console, clocked: TestClient,
                                               smtp_port: int) -> None:
    http = console.http
    user_id = _invite(console)
    link = _mailed_link(http, smtp_port)
    page = http.get(f"/admin/users/{user_id}")
    saved = http.post(f"/admin/users/{user_id}", data={
        "name": "Ivy Invitee", "email": INVITEE, "state": "inactive",
        "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 200, saved.text
    _refused(clocked, link)


def test_invitation_needs_an_smtp_server_and_a_password_can_be_set_instead(
        clocked: TestClient) -> None:
    person = create_user(clocked, "root@example.com", roles=("Super Admin",))
    sign_in(clocked, person)
    form = clocked.get("/admin/users/new")
    assert "no SMTP server is configured" in form.text
    refused = clocked.post("/admin/users/new", data={
        "name": "Ivy", "email": INVITEE, "method": "invite",
        "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 400
    assert "KEYSTEAD_SMTP_HOST" in refused.text
    made = clocked.post("/admin/users/new", data={
        "name": "Ivy", "email": INVITEE, "method": "password", "password": CHOSEN,
        "csrf_token": csrf_of(form.text)})
    assert made.status_code == 200
    assert "User created." in made.text


def test_send_again_is_refused_once_the_invitation_was_accepted(
        console: Console, clocked: TestClient, smtp_port: int) -> None:
    http = console.http
    user_id = _invite(console)
    _accept(clocked, _mailed_link(http, smtp_port))
    page = http.get(f"/admin/users/{user_id}")
    assert 'id="invitation"' not in page.text
    again = http.post(f"/admin/users/{user_id}/invitation/send",
                      data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 409
    assert "set a password already" in again.text


def test_only_admins_covering_the_invitee_may_invite_send_again_or_revoke(
        console: Console, clocked: TestClient, headers: dict[str, str], smtp_port: int) -> None:
    http = console.http
    grant = f"{role_id(http, headers, 'Super Admin')}:{home_division_id(http, headers)}"
    user_id = _invite(console, grant=grant)  # a Super Admin to be
    link = _mailed_link(http, smtp_port)
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "User Editor", "permissions": ["directory:user:view", "directory:user:edit"]})
    assert response.status_code == 200, response.text
    editor = create_user(http, "editor@example.com", roles=("User Editor",))
    http.cookies.clear()
    sign_in(http, editor)
    assert http.get("/admin/users/new").status_code == 403  # no directory:user:add
    page = http.get(f"/admin/users/{user_id}")
    for action in ("send", "revoke"):
        refused = http.post(f"/admin/users/{user_id}/invitation/{action}",
                            data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
        assert "permissions you do not hold" in refused.text
    assert clocked.get(link).status_code == 200  # untouched: still the invitee's


def test_an_admin_may_not_invite_someone_into_a_role_they_do_not_hold(
        console: Console, headers: dict[str, str]) -> None:
    """Least privilege: the invitation would hand out Super Admin; refused, and nothing is left
    behind (no user, no e-mail waiting)."""
    http = console.http
    grant = f"{role_id(http, headers, 'Super Admin')}:{home_division_id(http, headers)}"
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Inviter", "permissions": ["directory:user:view", "directory:user:add",
                                           "authorization:grant:add"]})
    assert response.status_code == 200, response.text
    inviter = create_user(http, "inviter@example.com", roles=("Inviter",))
    http.cookies.clear()
    sign_in(http, inviter)
    form = http.get("/admin/users/new")
    refused = http.post("/admin/users/new", data={
        "name": "Evil Twin", "email": "twin@example.com", "grant": grant, "method": "invite",
        "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 403
    assert rows(http, "SELECT id FROM users WHERE email = 'twin@example.com'") == []
    assert rows(http, "SELECT id FROM outbox WHERE ordering_key LIKE 'invitation:%'") == []


def test_an_unsent_invitation_is_withdrawn_when_sent_again_or_revoked(
        console: Console, smtp_port: int) -> None:
    http = console.http
    user_id = _invite(console)
    page = http.get(f"/admin/users/{user_id}")
    http.post(f"/admin/users/{user_id}/invitation/send", data={"csrf_token": csrf_of(page.text)})
    with smtp_server(smtp_port) as mailbox:
        send(http)
    assert len(mailbox.to(INVITEE)) == 1  # the replaced link never left

    http.post(f"/admin/users/{user_id}/invitation/send", data={"csrf_token": csrf_of(page.text)})
    http.post(f"/admin/users/{user_id}/invitation/revoke",
              data={"csrf_token": csrf_of(page.text)})
    assert rows(http, "SELECT id FROM outbox WHERE sent_at IS NULL") == []
