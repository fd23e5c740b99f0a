"""The API Explorer in a real browser: a signed-in admin opens it from the header's Clients
menu, fills in one GET and sends it with their own session; the answer shows on the page (no CSP
violation)."""

from __future__ import annotations

import json

from tests.browser.console import Admin


def test_api_explorer_sends_a_get_with_the_admins_session(root: Admin) -> None:
    page = root.page
    root.goto("/admin")
    page.click("details.menu summary:text-is('Clients')")  # the header's Clients menu
    with page.expect_navigation():
        page.click("#nav-api-explorer")
    root.check()
    assert root.path == "/admin/api-explorer"
    operation = page.locator("#op-listOauthClients")
    operation.locator("summary").click()
    assert "oauth:client:view" in operation.inner_text()
    operation.locator('input[name="query:pageSize"]').fill("5")
    operation.locator("button[type=submit]").click()
    status = operation.locator(".api-status")
    status.wait_for()
    assert status.inner_text().endswith("?pageSize=5 → 200")
    body = json.loads(operation.locator(".api-result pre").inner_text())
    assert body["pageSize"] == 5
    assert "entities" in body
    root.check()  # still no CSP violation after the script ran
    root.screenshot("api-explorer.png")
