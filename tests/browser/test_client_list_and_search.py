"""The client list's bulk actions and the header's search box in a real browser: "tick every
client" and the confirmation before disabling (script), the search behind "Menu" on a phone."""

from __future__ import annotations

from playwright.sync_api import Browser, ViewportSize

from tests.browser.console import OAUTH, Admin
from tests.support.clients import code_body, create_client

PHONE, LAPTOP = ViewportSize(width=390, height=844), ViewportSize(width=1280, height=800)


def test_tick_every_client_then_disable_asks_first_and_reports(root: Admin) -> None:
    server, page = root.server, root.page
    headers = server.headers()
    made = [create_client(server.http, headers, code_body(name=f"bulk app {n}")).id
            for n in range(3)]
    root.goto(f"{OAUTH}?q=bulk+app")
    boxes = page.locator('input[name="ids"]')
    assert boxes.count() == 3
    assert page.is_visible("#select-all")  # shown by the script only
    page.check("#select-all")
    assert all(boxes.nth(i).is_checked() for i in range(3))
    page.uncheck(f"#tick-{made[2]}")
    assert page.evaluate("() => document.getElementById('select-all').indeterminate")
    root.submit("#bulk-disable")
    assert root.dialogs
    assert root.dialogs[-1].startswith("Disable the ticked clients?")
    assert root.text("#bulk-summary") == "2 clients disabled."
    table = root.text("#clients")
    assert table.count("disabled") == 2
    assert table.count("active") == 1


def test_the_client_id_column_scrolls_inside_the_table_on_a_phone(
        browser: Browser, root: Admin) -> None:
    server = root.server
    create_client(server.http, server.headers(), code_body(name="narrow app"))
    phone = browser.new_context(base_url=server.url, viewport=PHONE,
                                storage_state=root.page.context.storage_state())
    try:
        page = phone.new_page()
        page.goto(OAUTH)
        assert page.is_visible("#clients code.client-id")
        assert not page.evaluate(
            "() => document.documentElement.scrollWidth > window.innerWidth + 1")
        assert page.evaluate("() => { const t = document.getElementById('clients');"
                             " return t.scrollWidth > t.clientWidth; }")
    finally:
        phone.close()


def test_the_header_search_sits_in_the_bar_on_a_laptop_and_behind_menu_on_a_phone(
        browser: Browser, root: Admin) -> None:
    server = root.server
    create_client(server.http, server.headers(), code_body(name="findable app"))
    state = root.page.context.storage_state()
    laptop = browser.new_context(base_url=server.url, viewport=LAPTOP, storage_state=state)
    phone = browser.new_context(base_url=server.url, viewport=PHONE, storage_state=state)
    try:
        page = laptop.new_page()
        page.goto("/admin")
        assert page.is_visible("#header-q")
        page.fill("#header-q", "findable")
        with page.expect_navigation():
            page.press("#header-q", "Enter")
        assert "/admin/search?q=findable" in page.url
        assert "findable app" in page.inner_text("#client-results")

        page = phone.new_page()
        page.goto("/admin")
        assert not page.is_visible("#header-q")
        page.click(".menu-button")
        assert page.is_visible("#header-q")
        page.fill("#header-q", "findable")
        with page.expect_navigation():
            page.click(".header-search button")
        assert "findable app" in page.inner_text("#client-results")
        assert not page.evaluate(
            "() => document.documentElement.scrollWidth > window.innerWidth + 1")
    finally:
        laptop.close()
        phone.close()
