"""Signing in to the console in a real browser: password, TOTP enrolment, recovery codes shown
once, the TOTP step on the next sign-in, and the idle timeout."""

from __future__ import annotations

import re

from tests.browser.conftest import OpenBrowser
from tests.browser.console import Server


def test_first_sign_in_enrols_totp_then_shows_recovery_codes_once(
        server: Server, open_browser: OpenBrowser) -> None:
    person = server.person()
    admin = open_browser(server, person)
    page = admin.page

    admin.goto("/admin")
    assert admin.path == "/login"
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    admin.submit("main button[type=submit]")

    assert admin.path == "/login/enrol"
    qr = page.locator("main img[src^='data:image/']")
    assert qr.is_visible()
    assert qr.get_attribute("alt")
    assert page.evaluate("() => document.querySelector('main img').naturalWidth") > 0
    person.totp_secret = admin.text("#totp-secret")
    assert re.fullmatch(r"[A-Z2-7]{16,}", person.totp_secret)
    admin.screenshot("mfa-enrolment.png")

    right = person.next_code()
    page.fill("#code", f"{(int(right) + 1) % 1_000_000:06d}")
    admin.submit("main button[type=submit]")
    assert (admin.path, admin.status) == ("/login/enrol", 400)
    assert page.get_by_role("alert").is_visible()
    assert admin.text("#totp-secret") == person.totp_secret  # the same key, to try again

    page.fill("#code", right)
    admin.submit("main button[type=submit]")
    assert admin.path == "/login/recovery-codes"
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert page.is_disabled("#continue")
    page.check("#stored")
    assert page.is_enabled("#continue")
    admin.submit("#continue")

    assert admin.path == "/admin"
    assert admin.text("h1") == "Dashboard"
    admin.goto("/login/recovery-codes")
    assert admin.path == "/admin"
    assert not any(code in page.content() for code in codes)


def test_second_sign_in_asks_for_a_totp_code(server: Server, open_browser: OpenBrowser) -> None:
    person = server.person()
    open_browser(server, person).sign_in()

    again = open_browser(server, person)  # another browser: no session cookie
    again.sign_in()

    visited = [re.sub(r"^https?://[^/]+", "", r.url) for r in again.documents]
    assert "/login/mfa" in visited
    assert "/login/enrol" not in visited
    assert again.text("h1") == "Dashboard"


def test_idle_session_is_signed_out_with_a_notice(server: Server,
                                                   open_browser: OpenBrowser) -> None:
    admin = open_browser(server, server.person())
    admin.sign_in()

    server.clock.advance(server.settings.session_idle_seconds + 1)
    admin.goto("/admin/integrations/oauth")

    assert admin.path == "/login"
    assert "inactivity" in admin.text("main .notice")
    assert admin.page.locator("#email").is_visible()
