"""OAuth clients in a real browser: the wizard, the secret shown once, rotation with a dual-use
window, disable/enable and delete, and the client list. Each secret is tried at /oauth/token
over real HTTP, as the client's own code would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.browser.console import OAUTH, Admin
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
    assert "900" in detail

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
