"""Every console page at a phone's width (390 px) and a laptop's (1280 px), in light and dark
mode: nothing scrolls sideways, the header is one row on the laptop and folds behind "Menu" on
the phone, dark mode follows the system setting, and axe-core finds no serious or critical
accessibility violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import axe_playwright_python  # type: ignore[import-untyped]  # ships no types
import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from tests.browser.console import OAUTH, Admin, Server
from tests.support.apps import run
from tests.support.clients import client_body, create_client
from tests.support.management import role_id

# axe-core as axe-playwright-python ships it (no network, no npm at test time).
AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
PHONE, LAPTOP = ViewportSize(width=390, height=844), ViewportSize(width=1280, height=800)
Scheme = Literal["light", "dark"]
LOOKS = [pytest.param(PHONE, "light", id="390px-light"),
         pytest.param(PHONE, "dark", id="390px-dark"),
         pytest.param(LAPTOP, "light", id="1280px-light"),
         pytest.param(LAPTOP, "dark", id="1280px-dark")]
PAGES = ("/admin", OAUTH, f"{OAUTH}/new", "/admin/audit", "/admin/users", "/admin/roles",
         "/admin/divisions", "/admin/scopes", "/admin/identity-providers",
         "/admin/governance/findings", "/admin/governance/compliance",
         "/admin/governance/policy", "/admin/governance/webhooks", "/admin/governance/alerts",
         "/admin/reviews",
         "/admin/governance/deletion-requests",
         "/admin/inbox", "/admin/connected-apps", "/admin/api-explorer",
         "/admin/search?q=layout", "/admin/users/new", "/admin/roles/new")


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE)  # evaluated by the driver, not injected: the CSP stays as it is
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


def scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth > window.innerWidth + 1"))


def is_dark(page: Page) -> bool:
    """The page's background is dark (relative luminance well under a half)."""
    rgb = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1:-1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255 < 0.3


def look_problems(page: Page, scheme: Scheme) -> list[str]:
    """What is wrong with the page as shown: axe-core's serious or critical violations, a
    sideways scroll, or a colour scheme other than the one asked for."""
    found = violations(page)
    if scrolls_sideways(page):
        found.append("the page scrolls sideways")
    if (scheme == "dark") != is_dark(page):
        found.append(f"the page is not in {scheme} mode")
    return found


def header_in_one_row(page: Page) -> bool:
    """The header's brand, navigation and sign-out sit side by side (their middles level)."""
    middles: list[float] = page.evaluate("""() => ['.brand', '#main-nav', '.signout'].map(s => {
        const box = document.querySelector(s).getBoundingClientRect();
        return box.top + box.height / 2; })""")
    return max(middles) - min(middles) < 12


@pytest.fixture
def a11y_server(server: Server, root: Admin) -> tuple[Server, Admin, str]:
    """Something on most pages (a client, an audit trail, findings), and the client's page.
    The client is made through the API: the wizard has its own tests (test_clients)."""
    headers = server.headers()
    made = create_client(server.http, headers, client_body(
        role_id(server.http, headers, "Super Admin"), name="layout check service"))
    run(server.http, lambda runtime: runtime.flush_evidence())  # tokens: the dashboard's chart
    return server, root, f"{OAUTH}/{made.id}"


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_every_console_page_fits_reads_and_passes_axe(
        browser: Browser, a11y_server: tuple[Server, Admin, str], viewport: ViewportSize,
        scheme: Scheme) -> None:
    server, root, client_page = a11y_server
    context = browser.new_context(base_url=server.url, viewport=viewport, color_scheme=scheme,
                                  storage_state=root.page.context.storage_state())
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    try:
        for path in (*PAGES, client_page, "/login"):
            if path == "/login":
                context.clear_cookies()
            response = page.goto(path)
            assert response is not None, path
            assert response.status == 200, (path, response.status)
            if path == "/admin":
                assert page.locator("#usage-trend svg.chart").count() == 1  # checked too
            found = look_problems(page, scheme)
            if found:
                problems[path] = found
        assert not problems, "\n".join(f"{path}: {line}" for path, lines in problems.items()
                                        for line in lines)
    finally:
        context.close()


def test_header_is_one_row_on_a_laptop_and_folds_behind_menu_on_a_phone(
        browser: Browser, a11y_server: tuple[Server, Admin, str]) -> None:
    server, root, _client_page = a11y_server
    state = root.page.context.storage_state()
    laptop = browser.new_context(base_url=server.url, viewport=LAPTOP, storage_state=state)
    phone = browser.new_context(base_url=server.url, viewport=PHONE, storage_state=state)
    try:
        page = laptop.new_page()
        page.goto("/admin/governance/findings")
        assert header_in_one_row(page)
        assert not page.is_visible(".menu-button")
        page.click("details.menu summary:text-is('People')")
        assert page.is_visible("#main-nav a[href='/admin/users']")
        page.keyboard.press("Escape")
        assert not page.is_visible("#main-nav a[href='/admin/users']")

        page = phone.new_page()
        page.goto("/admin")
        assert page.is_visible(".menu-button")
        assert not page.is_visible("#main-nav")
        assert page.get_attribute(".menu-button", "aria-expanded") == "false"
        page.click(".menu-button")
        assert page.get_attribute(".menu-button", "aria-expanded") == "true"
        assert page.is_visible("#main-nav a[href='/admin/audit']")
        page.click("details.menu summary:text-is('Governance')")
        with page.expect_navigation():
            page.click("#main-nav a[href='/admin/governance/compliance']")
        assert not scrolls_sideways(page)
    finally:
        laptop.close()
        phone.close()


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_the_one_time_secret_page_fits_reads_and_passes_axe(
        browser: Browser, a11y_server: tuple[Server, Admin, str], viewport: ViewportSize,
        scheme: Scheme) -> None:
    """Shown once, so not in PAGES: each look regenerates a secret to see it (curl included)."""
    server, root, client_page = a11y_server
    context = browser.new_context(base_url=server.url, viewport=viewport, color_scheme=scheme,
                                  storage_state=root.page.context.storage_state())
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(client_page)
        with page.expect_navigation():
            page.click("#regenerate-secret")
        assert page.url.endswith("/secret")
        assert page.locator("#curl-command").is_visible()
        found = look_problems(page, scheme)
        assert not found, "\n".join(found)
    finally:
        context.close()


# -- console-misc (issue 14): the consent page's own layout, the identity provider form with
# its metadata import, and that form showing a refused import.


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_consent_and_identity_provider_pages_fit_read_and_pass_axe(
        browser: Browser, server: Server, root: Admin, viewport: ViewportSize,
        scheme: Scheme) -> None:
    made = server.http.post("/api/v2/oauth/clients", headers=server.headers(), json={
        "name": "Layout notes", "description": "Checks the consent page",
        "authorizedGrantType": "CODE", "clientType": "public",
        "scope": ["users:readonly"], "registeredRedirectUri": ["https://app.example/cb"]})
    assert made.status_code == 200, made.text
    consent = ("/oauth/authorize?response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
               f"&client_id={made.json()['id']}&scope=openid+email+users%3Areadonly&state=s"
               "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
               "&code_challenge_method=S256")
    context = browser.new_context(base_url=server.url, viewport=viewport, color_scheme=scheme,
                                  storage_state=root.page.context.storage_state())
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    try:
        for path in (consent, "/admin/identity-providers/new", "metadata-refused"):
            if path == "metadata-refused":  # the form as a refused import shows it
                page.fill("#metadata", '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:'
                          'SAML:2.0:metadata" entityID="x"/>')
                with page.expect_navigation():
                    page.click("#import-metadata")
                assert page.is_visible("#metadata-error")
            else:
                response = page.goto(path)
                assert response is not None, path
                assert response.status == 200, (path, response.status)
            found = look_problems(page, scheme)
            if found:
                problems[path] = found
        assert not problems, "\n".join(f"{path}: {line}" for path, lines in problems.items()
                                        for line in lines)
    finally:
        context.close()
