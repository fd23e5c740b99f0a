"""A person's browser on the console (Playwright), the server it talks to, and the flows several
browser tests walk through: signing in and creating a client with the wizard."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Dialog, Page, Response
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Person, create_user
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import home_division_id, role_id
from tests.support.tokens import token

# Where the browser tests leave their screenshots: an ignored folder, so a test run changes no
# tracked file. `make screenshots` points it at docs/screenshots to refresh the committed ones.
SCREENSHOTS = Path(os.environ.get("KEYSTEAD_TEST_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "build" / "screenshots")
ROOT_EMAIL = "root@example.com"
OAUTH = "/admin/integrations/oauth"

# Every visible form control without a label (a <label for>, a wrapping <label>, aria-label or
# aria-labelledby): a screen reader would announce it as "edit text" and nothing more.
_UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.checkVisibility())
  .filter(el => !(el.labels && Array.from(el.labels).some(l => l.textContent.trim()))
                && !(el.getAttribute('aria-label') || '').trim()
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML)"""
# Every form that POSTs must carry the CSRF token, or the console refuses it.
_UNGUARDED = """() => Array.from(document.forms)
  .filter(f => f.method === 'post' && !f.querySelector('input[name="csrf_token"]'))
  .map(f => f.getAttribute('action') || '(this page)')"""


@dataclass
class Server:
    """Keystead behind uvicorn on a loopback port, and a second app on the same database (a
    TestClient, as another replica) for setting up people and roles and reading results."""

    url: str
    http: TestClient
    settings: Settings
    clock: ManualClock  # both apps run on it
    _admin: Registered | None = None

    def person(self, email: str = ROOT_EMAIL, *,
               roles: tuple[str, ...] = ("Super Admin",)) -> Person:
        return create_user(self.http, email, roles=roles)

    def headers(self) -> dict[str, str]:
        """Bearer headers of a Super Admin API client (for the management API)."""
        if self._admin is None:
            self._admin = bootstrap(self.http, name="browser-test admin", roles=["Super Admin"])
        return {"Authorization": f"Bearer {token(self.http, self._admin)}"}

    def role_choice(self, role_name: str) -> str:
        """The wizard's checkbox value for ``role_name`` in the Home division."""
        headers = self.headers()
        return f"{role_id(self.http, headers, role_name)}:{home_division_id(self.http, headers)}"

    def client_names(self) -> list[str]:
        response = self.http.get(CLIENTS, params={"pageSize": 100}, headers=self.headers())
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["entities"]]

    def client_token(self, client_id: str, secret: str) -> httpx.Response:
        """POST /oauth/token with HTTP Basic over real HTTP, as the client's own code would."""
        return httpx.post(f"{self.url}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret), timeout=10)


@dataclass
class Admin:
    """One person's browser on the console, and what every page it saw must get right."""

    page: Page
    server: Server
    person: Person
    documents: list[Response] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_dialogs: bool = True  # False: answer each confirm() with Cancel

    def watch(self) -> None:
        self.page.on("response", self._keep_document)
        self.page.on("console", lambda m: self._keep_problem(m.type, m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("dialog", self._accept)

    def _keep_document(self, response: Response) -> None:
        if (response.request.resource_type == "document"
                and response.url.startswith(self.server.url)):
            self.documents.append(response)

    def _keep_problem(self, kind: str, text: str) -> None:
        # Chromium reports each CSP violation (inline script, style attribute, on* handler) here.
        if kind == "error" and "Content Security Policy" in text:
            self.problems.append(text)

    def _accept(self, dialog: Dialog) -> None:
        """Say yes to each confirm() (Playwright would dismiss it), noting what it asked; no
        while ``accept_dialogs`` is False."""
        self.dialogs.append(dialog.message)
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    @property
    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.page.url).split("?")[0]

    @property
    def status(self) -> int:
        """The HTTP status of the page on screen."""
        return self.documents[-1].status

    def goto(self, path: str) -> None:
        self.page.goto(path)
        self.check()

    def submit(self, selector: str) -> None:
        """Click a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.check()

    def check(self) -> None:
        """What every console page owes its users: labelled controls, no CSP violation, a CSRF
        token in each POST form, and the security headers on every HTML page loaded so far."""
        unlabelled = self.page.evaluate(_UNLABELLED)
        assert unlabelled == [], f"{self.page.url}: controls without a label: {unlabelled}"
        assert self.problems == [], f"{self.page.url}: {self.problems}"
        unguarded = self.page.evaluate(_UNGUARDED)
        assert unguarded == [], f"{self.page.url}: POST forms without a CSRF token: {unguarded}"
        for response in self.documents:
            headers = response.headers
            if not headers.get("content-type", "").startswith("text/html"):
                continue
            csp = headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in csp, (response.url, csp)
            assert "script-src 'self'" in csp, (response.url, csp)
            assert "'unsafe-inline'" not in csp, (response.url, csp)
            assert headers.get("referrer-policy") == "no-referrer", response.url

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / name, full_page=True)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector).strip()

    def sign_in(self) -> None:
        """Sign in through the pages, enrolling TOTP first when Keystead asks for it."""
        page, person = self.page, self.person
        self.goto("/login")
        page.fill("#email", person.email)
        page.fill("#password", person.password)
        self.submit("main button[type=submit]")
        if self.path == "/login/enrol":
            person.totp_secret = self.text("#totp-secret")
            page.fill("#code", person.next_code())
            self.submit("main button[type=submit]")
            assert self.path == "/login/recovery-codes", self.page.url
            person.recovery_codes = page.locator("#recovery-codes code").all_inner_texts()
            page.check("#stored")
            self.submit("#continue")
        elif self.path == "/login/mfa":
            page.fill("#code", person.next_code())
            self.submit("main button[type=submit]")
        assert self.path == "/admin", self.page.url

    # -- the wizard

    def wizard_step_1(self, name: str, grant_types: tuple[str, ...]) -> None:
        self.goto(f"{OAUTH}/new")
        self.page.fill("#name", name)
        for grant in grant_types:
            self.page.check(f'input[name="grantTypes"][value="{grant}"]')

    def create_service(self, name: str = "billing service", *,
                       roles: tuple[str, ...] = ("Super Admin",)) -> Registered:
        """A client-credentials client made with the wizard; its id and the secret shown once."""
        self.wizard_step_1(name, ("CLIENT-CREDENTIALS",))
        self.submit("#next")
        for role in roles:
            self.page.check(f'input[name="roles"][value="{self.server.role_choice(role)}"]')
        self.page.check('input[name="scopes"][value="oauth:readonly"]')  # at least one
        self.submit("#next")
        self.submit("#save")
        return self.take_secret()

    def take_secret(self) -> Registered:
        """Read the secret page once, confirm it is stored, and go on to the client."""
        assert re.fullmatch(rf"{OAUTH}/[^/]+/secret", self.path), self.page.url
        shown = Registered(self.text("#client-id"), self.text("#client-secret"))
        self.page.check("#secret-stored")
        self.submit("#finish")
        return shown


def exported_events(text: str) -> list[dict[str, Any]]:
    """The events of a JSON export: ``{"entities": [...], "total": n}``."""
    body = json.loads(text)
    assert body["total"] == len(body["entities"]), text[:500]
    return list(body["entities"])
