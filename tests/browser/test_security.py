"""Attacks tried from a real browser: a role the user does not hold forced into the wizard, and
forms stripped of their CSRF token. Each is refused with the 403 page and changes nothing."""

from __future__ import annotations

from tests.browser.conftest import OpenBrowser
from tests.browser.console import OAUTH, Admin, Server
from tests.support.management import audit_events

ROLES = "/api/v2/authorization/roles"
CLIENT_MANAGER = ["oauth:client:*", "oauth:scope:view", "authorization:role:view",
                  "authorization:division:view", "audits:audit:view"]
_STRIP_CSRF = "form => form.querySelector('input[name=\"csrf_token\"]').remove()"


def test_wizard_refuses_a_role_the_user_does_not_hold(server: Server,
                                                      open_browser: OpenBrowser) -> None:
    created = server.http.post(ROLES, headers=server.headers(), json={
        "name": "Client Manager", "description": "manages clients",
        "permissions": CLIENT_MANAGER})
    assert created.status_code == 200, created.text
    manager = open_browser(server, server.person("manager@example.com",
                                                 roles=("Client Manager",)))
    manager.sign_in()
    page = manager.page
    manager.wizard_step_1("sneaky service", ("CLIENT-CREDENTIALS",))
    manager.submit("#next")

    own = page.locator(f'input[name="roles"][value="{server.role_choice("Client Manager")}"]')
    forged = page.locator(f'input[name="roles"][value="{server.role_choice("Super Admin")}"]')
    assert own.is_enabled()
    assert forged.is_disabled()
    reason = forged.evaluate(
        "el => el.closest('.check, li, tr, label, div').querySelector('.reason')?.textContent"
        " || ''")
    assert reason.strip(), "the disabled role does not say why"

    forged.evaluate("el => { el.removeAttribute('disabled'); el.checked = true; }")
    page.check('input[name="scopes"][value="oauth:readonly"]')
    manager.submit("#next")
    if manager.status != 403:  # refused at Save rather than at the roles step
        manager.submit("#save")

    assert manager.status == 403
    assert "Super Admin" in manager.text("main [role=alert]")  # the refusal names the role
    assert "sneaky service" not in server.client_names()
    assert audit_events(server.http, server.headers(), action="access.denied")  # on record


def test_client_form_without_csrf_token_is_refused_and_changes_nothing(root: Admin) -> None:
    svc = root.create_service("guarded service")
    root.page.locator("#disable").evaluate(f"button => ({_STRIP_CSRF})(button.form)")
    root.submit("#disable")

    assert root.status == 403
    assert root.server.client_token(svc.id, svc.secret).status_code == 200
    assert audit_events(root.server.http, root.server.headers(), action="access.denied")
    root.goto(f"{OAUTH}/{svc.id}")
    assert root.page.locator("#disable").is_visible()  # still active


def test_sign_out_without_csrf_token_is_refused(root: Admin) -> None:
    root.page.locator("form.signout").evaluate(_STRIP_CSRF)
    root.submit("form.signout button[type=submit]")

    assert root.status == 403
    root.goto("/admin")
    assert root.path == "/admin"  # still signed in
