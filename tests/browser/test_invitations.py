"""Inviting a person and editing a role's permissions, in a real browser (issue 14 §2): the
invitation travels through a real SMTP server to the invitee, who chooses a password, enrols
TOTP and is signed in; the roles editor filters its permissions as one types, counts them per
domain, and saving keeps the chosen ones the filter hides."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize
from sqlalchemy import text

from keystead.domain.principal import operator
from keystead.web.app import send_outbox
from keystead.web.runtime import Runtime
from tests.browser.conftest import OpenBrowser, StartServer
from tests.browser.test_layout_and_accessibility import LOOKS, Scheme, look_problems
from tests.people import Person
from tests.support.apps import run
from tests.support.servers import reserved_port
from tests.support.smtp import smtp_server

INVITEE = "ivy@example.com"
CHOSEN = "quartz-willow-harbour-91"


def _mailed(port: int) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
            "smtp_timeout_seconds": 2.0, "smtp_from": "keystead@example.com"}


def test_invited_person_chooses_a_password_enrols_totp_and_is_signed_in(
        start_server: StartServer, open_browser: OpenBrowser) -> None:
    port = reserved_port()
    server = start_server(**_mailed(port))
    root = open_browser(server, server.person())
    root.sign_in()

    root.goto("/admin/users/new")
    assert root.page.is_checked("input[name=method][value=invite]")  # the default way in
    root.page.fill("#name", "Ivy Invitee")
    root.page.fill("#email", INVITEE)
    root.page.select_option("#grant", label="Super Admin — Home")
    root.submit("#save")
    assert "an invitation is on its way" in root.text("main")
    assert root.text("#invitation-status").startswith("Invitation sent")
    user_id = root.path.removeprefix("/admin/users/")

    with smtp_server(port) as mailbox:
        run(server.http, send_outbox)
    [mail] = mailbox.to(INVITEE)
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(re.escape(server.url) + r"(/admin/invite/\S+)", body.decode())
    assert found, body.decode()
    link = found.group(1)
    token = link.removeprefix("/admin/invite/")
    root.goto(f"/admin/users/{user_id}")
    assert token not in root.page.content()

    invitee = open_browser(server, Person(user_id, INVITEE, server.clock, CHOSEN))
    page = invitee.page
    invitee.goto(link)
    assert invitee.text("h1") == "Welcome to Keystead, Ivy Invitee"
    page.fill("#password", CHOSEN)
    invitee.submit("#set-password")
    assert invitee.path == "/login/enrol"
    invitee.person.totp_secret = invitee.text("#totp-secret")
    page.fill("#code", invitee.person.next_code())
    invitee.submit("main button[type=submit]")
    assert invitee.path == "/login/recovery-codes"
    page.check("#stored")
    invitee.submit("#continue")
    assert invitee.path == "/admin"
    invitee.goto(f"/admin/users/{user_id}")
    assert invitee.text("h1").startswith("Ivy Invitee")
    assert invitee.text("#mfa-status") == "set up"

    invitee.goto(link)  # once only
    assert invitee.status == 404
    assert "no longer valid; ask your admin for a new one" in invitee.text("main")


def test_roles_editor_filters_counts_and_keeps_hidden_choices(
        start_server: StartServer, open_browser: OpenBrowser) -> None:
    server = start_server()
    root = open_browser(server, server.person())
    root.sign_in()
    page = root.page
    root.goto("/admin/roles/new")
    assert page.is_visible("#perm-filter")  # shown only where the script runs
    oauth = page.locator("fieldset.perm-group", has=page.locator("legend", has_text="oauth"))
    total = oauth.locator("input[type=checkbox]").count()
    assert oauth.locator("[data-perm-count]").inner_text() == f"0 of {total} chosen"

    page.fill("#name", "Auditors and grants")
    page.fill("#perm-filter", "audit")
    shown = page.locator("[data-perm]:visible")
    assert shown.count() > 0
    assert all("audit" in t.lower() for t in shown.all_inner_texts())
    assert not page.is_visible("#perm-oauth-client-view")  # filtered out
    assert "shown" in root.text("#perm-filter-status")
    page.fill("#perm-filter", "oauth client view")
    page.check("#perm-oauth-client-view")
    assert oauth.locator("[data-perm-count]").inner_text() == f"1 of {total} chosen"
    page.fill("#perm-filter", "grant view")
    page.check("#perm-authorization-grant-view")
    assert not page.is_visible("#perm-oauth-client-view")  # hidden now, still chosen
    page.locator("#perm-filter").press("Enter")  # does not submit the form
    assert root.path == "/admin/roles/new"
    root.submit("#save")

    assert root.path.startswith("/admin/roles/")
    assert page.is_checked("#perm-oauth-client-view")
    assert page.is_checked("#perm-authorization-grant-view")
    assert page.locator("input[name=permissions]:checked").count() == 2


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_invitation_pages_fit_read_and_pass_axe(
        start_server: StartServer, browser: Browser, viewport: ViewportSize,
        scheme: Scheme) -> None:
    """The invitee's pages (the password form, and the refusal) as every console page is held
    to: no SMTP server runs, the link is read from the unsent e-mail in the outbox."""
    server = start_server(**_mailed(reserved_port()))

    async def invite(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            await runtime.invitations(conn).invite(operator(), name="Ivy Invitee",
                                                   email=INVITEE, grants=[])
            payload = (await conn.execute(text("SELECT payload FROM outbox"))).scalar_one()
        body = str((payload if isinstance(payload, dict) else json.loads(payload))["body"])
        found = re.search(r"(/admin/invite/\S+)", body)
        assert found, body
        return found.group(1)

    link = run(server.http, invite)
    context = browser.new_context(base_url=server.url, viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    try:
        problems: dict[str, list[str]] = {}
        for path, status in ((link, 200), ("/admin/invite/made-up", 404)):
            response = page.goto(path)
            assert response is not None
            assert response.status == status, path
            found = look_problems(page, scheme)
            if found:
                problems[path] = found
        assert not problems, problems
    finally:
        context.close()
