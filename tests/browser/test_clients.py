"""OAuth clients in a real browser: the wizard, the secret shown once, rotation with a dual-use
window, disable/enable and delete, and the client list. Each secret is tried at /oauth/token
over real HTTP, as the client's own code would."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser

from tests.browser.console import OAUTH, Admin
from tests.support.apps import run
from tests.support.clients import client_body, create_client, set_state
from tests.support.management import role_id


def _refused(response_status: int, body: dict[str, object]) -> bool:
    return response_status == 401 and body.get("error") == "invalid_client"


def test_wizard_creates_a_service_and_shows_its_secret_once(root: Admin) -> None:
    page, server = root.page, root.server
    root.goto(OAUTH)
    root.submit("a#add-client")

    assert root.path == f"{OAUTH}/new"
    assert page.locator("ol.steps").is_visible()
    implicit = page.locator('input[name="grantTypes"][value="TOKEN"]')
    assert implicit.is_disabled()
    assert "deprecated" in implicit.evaluate(
        "el => el.closest('.check, li, label, div').textContent").lower()
    page.fill("#name", "billing service")
    page.fill("#description", "nightly invoices")
    page.check('input[name="grantTypes"][value="CLIENT-CREDENTIALS"]')
    root.screenshot("wizard-step-1.png")
    root.submit("#next")

    page.check(f'input[name="roles"][value="{server.role_choice("Super Admin")}"]')
    page.fill("#accessTokenValiditySeconds", "7200")
    page.check('input[name="scopes"][value="oauth:readonly"]')
    root.screenshot("wizard-step-2.png")
    root.submit("#next")

    review = root.text("dl.props")
    assert "billing service" in review
    assert "Super Admin" in review
    root.screenshot("wizard-step-3.png")
    root.submit("#back")  # back to the settings, as they were chosen
    assert page.is_checked(f'input[name="roles"][value="{server.role_choice("Super Admin")}"]')
    assert page.input_value("#accessTokenValiditySeconds") == "7200"
    root.submit("#next")
    root.submit("#save")

    client_id, secret = root.text("#client-id"), root.text("#client-secret")
    assert root.path == f"{OAUTH}/{client_id}/secret"
    assert page.is_disabled("#finish")
    root.screenshot("secret.png")
    page.click("#copy-secret")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    page.check("#secret-stored")
    assert page.is_enabled("#finish")
    root.submit("#finish")
    assert root.path == f"{OAUTH}/{client_id}"

    issued = server.client_token(client_id, secret)
    assert issued.status_code == 200, issued.text
    assert issued.json()["access_token"]

    page.go_back()
    root.check()
    assert root.path == f"{OAUTH}/{client_id}/secret"
    _assert_secret_not_shown(root, secret)
    page.reload()
    root.check()
    _assert_secret_not_shown(root, secret)
    root.goto(f"{OAUTH}/{client_id}/secret")
    _assert_secret_not_shown(root, secret)


def _assert_secret_not_shown(root: Admin, secret: str) -> None:
    assert root.page.locator("#client-secret").count() == 0
    assert secret not in root.page.content()
    assert "shown once" in root.text("main")


def test_wizard_checks_redirect_uris_as_typed_and_again_on_the_server(root: Admin) -> None:
    page = root.page
    root.wizard_step_1("web app", ("CODE",))
    root.submit("#next")

    typed = "https://app.example.com/cb\nhttp://app.example.com/cb"
    page.fill("#accessTokenValiditySeconds", "1800")
    page.fill("#redirectUris", typed)
    messages = page.locator("#redirect-uri-messages")
    assert "Line 2" in messages.inner_text()
    assert messages.get_attribute("aria-live") or messages.get_attribute("role")
    page.check('input[name="scopes"][value="oauth:readonly"]')
    root.submit("#next")

    assert root.status < 500
    uris = page.locator("#redirectUris")
    assert uris.is_visible(), "Next went past a redirect URI the server must refuse"
    described = (uris.get_attribute("aria-describedby") or "").split()
    errors = [root.text(f"#{i}") for i in described if page.locator(f"#{i}.field-error").count()]
    assert errors, "the server's error is not next to the redirect URIs field"
    assert uris.input_value() == typed
    assert page.input_value("#accessTokenValiditySeconds") == "1800"
    assert page.is_checked('input[name="scopes"][value="oauth:readonly"]')

    page.fill("#redirectUris", "https://app.example.com/cb\nhttp://127.0.0.1:8400/cb")
    assert messages.inner_text().strip() == ""
    page.check('input[name="scopes"][value="audits:readonly"]')
    root.submit("#next")
    review = root.text("dl.props")
    assert "https://app.example.com/cb" in review
    assert "http://127.0.0.1:8400/cb" in review
    root.submit("#save")
    if root.path.endswith("/secret"):
        client_id = root.take_secret().id
    else:
        client_id = root.path.rsplit("/", 1)[1]

    assert root.path == f"{OAUTH}/{client_id}"
    detail = root.text("main")
    assert "https://app.example.com/cb" in detail
    assert "http://127.0.0.1:8400/cb" in detail


def test_regenerated_secret_overlaps_the_old_one_until_it_is_expired(root: Admin) -> None:
    page, server = root.page, root.server
    first = root.create_service("rotating service")
    assert root.path == f"{OAUTH}/{first.id}"

    page.select_option("#dualUseSeconds", "86400")
    root.submit("#regenerate-secret")
    assert root.dialogs, "regenerating a secret did not ask for confirmation"
    second = root.take_secret()
    assert second.id == first.id
    assert second.secret != first.secret
    assert server.client_token(first.id, first.secret).status_code == 200
    assert server.client_token(second.id, second.secret).status_code == 200
    assert page.locator("#secrets tbody tr").count() >= 2

    root.submit("button#expire-previous")
    old = server.client_token(first.id, first.secret)
    assert _refused(old.status_code, old.json()), old.text
    assert server.client_token(second.id, second.secret).status_code == 200


def test_edit_disable_enable_then_delete_after_typing_the_name(root: Admin) -> None:
    page, server = root.page, root.server
    svc = root.create_service("doomed service")
    root.submit("a#edit")
    page.fill("#description", "retired next quarter")
    page.fill("#accessTokenValiditySeconds", "900")
    root.submit("#save")
    assert root.path == f"{OAUTH}/{svc.id}"
    detail = root.text("main")
    assert "retired next quarter" in detail
    assert "15 minutes" in detail

    root.submit("#disable")
    refused = server.client_token(svc.id, svc.secret)
    assert _refused(refused.status_code, refused.json()), refused.text
    root.submit("#enable")
    assert server.client_token(svc.id, svc.secret).status_code == 200
    page.fill("#dateToDelete", (datetime.now(UTC) + timedelta(days=7)).date().isoformat())
    root.submit("button#schedule-deletion")
    inactive = server.client_token(svc.id, svc.secret)
    assert _refused(inactive.status_code, inactive.json()), inactive.text
    root.submit("#enable")  # cancels the deletion
    assert server.client_token(svc.id, svc.secret).status_code == 200

    assert page.is_disabled("button#delete")
    for wrong in ("doomed servic", "Doomed service", "doomed service "):
        page.fill("#confirm-name", wrong)
        assert page.is_disabled("button#delete"), wrong
    page.fill("#confirm-name", "doomed service")
    assert page.is_enabled("button#delete")
    root.submit("button#delete")

    root.goto(OAUTH)
    assert "doomed service" not in root.text("#clients")
    gone = server.client_token(svc.id, svc.secret)
    assert _refused(gone.status_code, gone.json()), gone.text
    root.goto(f"{OAUTH}/{svc.id}")
    assert root.status == 404


def test_client_list_filters_by_name_and_state(root: Admin) -> None:
    page, server = root.page, root.server
    headers = server.headers()
    super_admin = role_id(server.http, headers, "Super Admin")
    made = {name: create_client(server.http, headers, client_body(super_admin, name=name))
            for name in ("payroll export", "payroll import", "crm sync")}
    set_state(server.http, headers, made["payroll import"].id, "disabled")

    root.goto(OAUTH)
    listed = root.text("#clients")
    assert all(name in listed for name in made)
    page.fill("#q", "payroll")
    with page.expect_navigation():
        page.press("#q", "Enter")  # the filter form submits from the keyboard
    root.check()
    listed = root.text("#clients")
    assert "payroll export" in listed
    assert "payroll import" in listed
    assert "crm sync" not in listed
    assert re.search(r"[?&]q=payroll", page.url)  # a filtered view can be bookmarked
    root.screenshot("client-list.png")

    page.select_option("#state", "disabled")
    with page.expect_navigation():
        page.press("#q", "Enter")
    root.check()
    listed = root.text("#clients")
    assert "payroll import" in listed
    assert "payroll export" not in listed


# -- the client page's sections, confirmations, and the secret page's next steps ---------------


def test_secret_page_downloads_the_credentials_and_its_curl_gets_a_token(root: Admin) -> None:
    page, server = root.page, root.server
    root.wizard_step_1("download service", ("CLIENT-CREDENTIALS",))
    root.submit("#next")
    page.check(f'input[name="roles"][value="{server.role_choice("Super Admin")}"]')
    page.check('input[name="scopes"][value="oauth:readonly"]')
    root.submit("#next")
    root.submit("#save")
    client_id, secret = root.text("#client-id"), root.text("#client-secret")
    token_url = f"{server.url}/oauth/token"
    assert root.text("#token-url") == token_url
    assert root.text("#secret-fingerprint") == hashlib.sha256(secret.encode()).hexdigest()[:8]

    sent: list[str] = []  # the files are made in the page: no request may carry the secret
    page.on("request", lambda request: sent.append(request.url))
    with page.expect_download() as env_download:
        page.click("#download-env")
    with page.expect_download() as json_download:
        page.click("#download-json")
    assert [url for url in sent if not url.startswith("blob:")] == []
    env = Path(env_download.value.path()).read_text()
    assert env_download.value.suggested_filename == f"keystead-{client_id}.env"
    assert env.splitlines() == [f"CLIENT_ID={client_id}", f"CLIENT_SECRET={secret}",
                                f"TOKEN_URL={token_url}"]
    assert json_download.value.suggested_filename == f"keystead-{client_id}.json"
    assert json.loads(Path(json_download.value.path()).read_text()) == {
        "client_id": client_id, "client_secret": secret, "token_url": token_url}

    # The command as shown, run by a shell against the server.
    command = root.text("#curl-command")
    assert secret in command
    ran = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                         timeout=20, check=False)
    assert ran.returncode == 0, ran.stderr
    issued = json.loads(ran.stdout)
    assert issued["token_type"] == "Bearer"
    assert issued["access_token"]
    root.take_secret()


def test_secret_page_without_javascript_still_shows_the_values_and_the_curl(
        root: Admin, browser: Browser) -> None:
    server = root.server
    context = browser.new_context(base_url=server.url, java_script_enabled=False,
                                  storage_state=root.page.context.storage_state())
    context.set_default_timeout(10_000)
    try:
        admin = Admin(context.new_page(), server, root.person)
        admin.watch()
        admin.wizard_step_1("no script service", ("CLIENT-CREDENTIALS",))
        admin.submit("#next")
        admin.page.check(f'input[name="roles"][value="{server.role_choice("Super Admin")}"]')
        admin.page.check('input[name="scopes"][value="oauth:readonly"]')
        admin.submit("#next")
        admin.submit("#save")
        client_id, secret = admin.text("#client-id"), admin.text("#client-secret")
        assert admin.text("#token-url") == f"{server.url}/oauth/token"
        assert f"'{client_id}:{secret}'" in admin.text("#curl-command")
        assert admin.page.is_hidden("#downloads")  # they need the script to make the file
    finally:
        context.close()


def test_disable_and_expire_previous_change_nothing_when_the_dialog_is_dismissed(
        root: Admin) -> None:
    page, server = root.page, root.server
    first = root.create_service("careful service")
    page.select_option("#dualUseSeconds", "86400")
    root.submit("#regenerate-secret")
    second = root.take_secret()

    root.accept_dialogs = False
    asked = len(root.dialogs)
    page.click("button#expire-previous")
    page.click("#disable")
    assert len(root.dialogs) == asked + 2
    assert "previous secret" in root.dialogs[-2]
    assert "Disable careful service?" in root.dialogs[-1]
    assert root.path == f"{OAUTH}/{first.id}"
    assert root.text("#client-state") == "active"
    assert server.client_token(first.id, first.secret).status_code == 200

    root.accept_dialogs = True
    root.submit("button#expire-previous")
    assert "The previous secret no longer works." in root.text("main")
    old = server.client_token(first.id, first.secret)
    assert _refused(old.status_code, old.json()), old.text
    root.submit("#disable")
    assert root.text("#client-state") == "disabled"
    assert "The client is disabled" in root.text("main")
    refused = server.client_token(second.id, second.secret)
    assert _refused(refused.status_code, refused.json()), refused.text


def test_client_page_sections_are_reached_from_its_navigation(root: Admin) -> None:
    page = root.page
    svc = root.create_service("sectioned service")
    assert root.server.client_token(svc.id, svc.secret).status_code == 200
    nav = page.locator('nav[aria-label="Client sections"]')
    assert nav.locator("a").all_inner_texts() == [
        "Settings", "Credentials", "Roles and scopes", "Usage", "Activity",
        "State and deletion"]
    nav.locator('a[href="#usage"]').click()
    assert page.url.endswith("#usage")
    assert page.locator("#usage svg.chart").is_visible()
    assert page.locator("#usage").evaluate("el => el.getBoundingClientRect().top") < 100
    nav.locator('a[href="#activity"]').click()
    assert "create" in root.text("#client-activity")
    fingerprint = root.text("#secrets code.fingerprint")
    assert fingerprint == hashlib.sha256(svc.secret.encode()).hexdigest()[:8]
    # A token from the set-up replica, counted as its background flush would.
    issued = root.server.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(svc.id, svc.secret))
    assert issued.status_code == 200, issued.text
    run(root.server.http, lambda runtime: runtime.hot.flush())
    page.goto(page.url.split("#")[0])
    assert "0 tokens issued" not in root.text("#usage-totals")
    root.screenshot("client-detail.png")
