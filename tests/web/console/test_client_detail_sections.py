"""A client's page in sections: secret fingerprints (as made by every path that makes a secret),
usage per day from real tokens and failures, the client's audit trail for those who may read
the log, and the one-time secret page's next steps."""

from __future__ import annotations

import hashlib
import re
import shlex
from datetime import timedelta
from pathlib import Path

import pytest
from httpx2 import Response
from sqlalchemy import update
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.errors import ForbiddenError
from keystead.store.tables import client_secrets
from keystead.web.console.clients.presenters import CLIENT_NOTICES
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.alerts import flush
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.clock import ManualClock
from tests.web.console.test_clients_pages import OAUTH, add_client, page_of, shown, submit

CC = {"grant_type": "client_credentials"}
POLICY = "/api/v2/governance/policy"
DAY = 86_400


def sha8(secret: str) -> str:
    """What ``printf %s "$SECRET" | sha256sum | cut -c1-8`` prints."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def fingerprints(console: Console, client_id: str) -> dict[str, str]:
    """The secrets table's fingerprint of the current and of the previous secret."""
    html = console.http.get(f"{OAUTH}/{client_id}").text
    table = html.split('<table id="secrets">', 1)[1].split("</table>", 1)[0]
    found = {}
    for state, row in re.findall(r'<tr class="(current|previous)">(.*?)</tr>', table, re.S):
        cell = re.findall(r"<td>(.*?)</td>", row, re.S)[1]
        found[state] = re.sub(r"<[^>]+>", "", cell).strip()
    return found


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "secrets").mkdir()
    return settings.model_copy(update={"secret_file_root": tmp_path / "secrets"})


@pytest.fixture
def made(console: Console) -> Registered:
    """A client-credentials client made in the wizard, with the secret its page showed once."""
    return shown(add_client(console, name="Ledger Sync", grants=["CLIENT-CREDENTIALS"],
                            roles=("Super Admin",), scopes=["oauth:readonly"]))


# -- fingerprints ------------------------------------------------------------------------------


def test_secret_page_fingerprint_is_the_secrets_sha256_prefix_and_the_client_page_shows_it(
        console: Console) -> None:
    saved = add_client(console, name="Ledger Sync", grants=["CLIENT-CREDENTIALS"],
                       roles=("Super Admin",), scopes=["oauth:readonly"])
    client = shown(saved)
    assert page_of(saved).text["secret-fingerprint"] == sha8(client.secret)
    assert "sha256sum | cut -c1-8" in saved.text
    assert fingerprints(console, client.id) == {"current": sha8(client.secret)}


def test_a_regenerated_secret_has_its_own_fingerprint_beside_the_previous_one(
        console: Console, made: Registered, clock: ManualClock) -> None:
    clock.advance(60)
    page = console.http.get(f"{OAUTH}/{made.id}")
    fresh = shown(submit(console, page, "regenerate-secret", dualUseSeconds="3600"))
    assert sha8(fresh.secret) != sha8(made.secret)
    assert fingerprints(console, made.id) == {"current": sha8(fresh.secret),
                                              "previous": sha8(made.secret)}


def test_a_secret_delivered_to_a_vault_is_fingerprinted_too(
        console: Console, made: Registered, headers: dict[str, str], tmp_path: Path,
        clock: ManualClock) -> None:
    clock.advance(60)
    put = console.http.put(f"{CLIENTS}/{made.id}/secret/destination", headers=headers, json={
        "kind": "file", "settings": {"directory": str(tmp_path / "secrets")}})
    assert put.status_code == 200, put.text
    delivered = console.post(f"{OAUTH}/{made.id}/deliver", {"dualUseSeconds": "60"})
    assert delivered.status_code == 200
    secret = (tmp_path / "secrets" / made.id).read_text()
    assert secret not in delivered.text
    assert fingerprints(console, made.id) == {"current": sha8(secret),
                                              "previous": sha8(made.secret)}


def test_a_secret_made_before_fingerprints_were_kept_shows_a_dash(
        console: Console, made: Registered) -> None:
    async def forget(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(update(client_secrets).where(
                client_secrets.c.client_id == made.id).values(fingerprint=None))

    run(console.http, forget)
    assert fingerprints(console, made.id) == {"current": "—"}


# -- the one-time secret page's next steps -----------------------------------------------------


def test_secret_page_gives_the_token_url_and_a_curl_that_gets_a_token(console: Console) -> None:
    saved = add_client(console, name="Ledger Sync", grants=["CLIENT-CREDENTIALS"],
                       roles=("Super Admin",), scopes=["oauth:readonly"])
    client, doc = shown(saved), page_of(saved)
    assert doc.text["token-url"] == "http://testserver/oauth/token"
    assert "was created" in doc.text["secret-notice"]
    # The command as a shell reads it: the same request, sent here to the app.
    words = shlex.split(doc.text["curl-command"].replace("\\\n", " "))
    assert words[:4] == ["curl", "-sS", "-X", "POST"]
    assert words[4] == "http://testserver/oauth/token"
    assert words[5:] == ["-u", f"{client.id}:{client.secret}", "-d",
                         "grant_type=client_credentials"]
    response = console.http.post(words[4], data=CC, auth=(client.id, client.secret))
    assert response.status_code == 200, response.text
    # The download buttons are there for the browser to make the files; hidden without it.
    assert "hidden" in doc.attrs["downloads"]
    assert {doc.attrs["download-env"]["data-download"],
            doc.attrs["download-json"]["data-download"]} == {"env", "json"}
    again = console.http.get(saved.url.path)
    assert client.secret not in again.text
    assert "curl-command" not in page_of(again).attrs


def test_secret_page_curl_sends_the_secret_as_the_client_authenticates(
        console: Console) -> None:
    saved = add_client(console, name="Post Sync", grants=["CLIENT-CREDENTIALS"],
                       roles=("Super Admin",), scopes=["oauth:readonly"],
                       tokenEndpointAuthMethod="client_secret_post")
    client = shown(saved)
    words = shlex.split(page_of(saved).text["curl-command"].replace("\\\n", " "))
    assert words[5:] == ["-d", f"client_id={client.id}", "-d", f"client_secret={client.secret}",
                         "-d", "grant_type=client_credentials"]
    response = console.http.post(words[4], data=CC | {
        "client_id": client.id, "client_secret": client.secret})
    assert response.status_code == 200, response.text


def test_secret_page_of_a_code_client_offers_no_client_credentials_curl(
        console: Console) -> None:
    saved = add_client(console, name="Web Portal", grants=["CODE"],
                       redirectUris="https://portal.example.com/cb", scopes=["oauth:readonly"])
    doc = page_of(saved)
    assert doc.text["token-url"] == "http://testserver/oauth/token"
    assert "curl-command" not in doc.attrs


def test_regenerated_secret_page_says_a_new_secret_was_generated(
        console: Console, made: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{made.id}")
    revealed = submit(console, page, "regenerate-secret", dualUseSeconds="3600")
    assert "A new secret was generated" in page_of(revealed).text["secret-notice"]


# -- usage -------------------------------------------------------------------------------------


def usage_rows(html: str) -> dict[str, tuple[int, int]]:
    """The usage table's days with any count: ISO day -> (tokens, failures)."""
    table = html.split('id="usage-chart-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<time datetime="([0-9-]+)">[^<]*</time></th><td>([\d,]+)</td>'
                      r"<td>([\d,]+)</td>", table)
    return {day: (int(t.replace(",", "")), int(f.replace(",", "")))
            for day, t, f in rows if (t, f) != ("0", "0")}


def test_usage_charts_real_tokens_and_failures_per_day_over_90_days(
        http: TestClient, clock: ManualClock) -> None:
    app = bootstrap(http, name="ledger", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    clock.now = clock.now.replace(hour=12)  # the hours below stay on one UTC day
    first = clock.now.date()
    for _ in range(3):
        assert http.post("/oauth/token", data=CC, auth=app.basic_auth).status_code == 200
    assert http.post("/oauth/token", data=CC, auth=(app.id, "wrong")).status_code == 401
    flush(http)
    clock.advance(2 * DAY)
    assert http.post("/oauth/token", data=CC, auth=app.basic_auth).status_code == 200
    for _ in range(2):
        assert http.post("/oauth/token", data=CC, auth=(app.id, "wrong")).status_code == 401
    flush(http)
    person = create_user(http, "root@example.com", roles=("Super Admin",))
    sign_in(http, person)

    page = http.get(f"{OAUTH}/{app.id}")

    assert page.status_code == 200
    doc = page_of(page)
    assert "4 tokens issued, 3 failed authentications" in " ".join(doc.text["usage-totals"].split())
    assert usage_rows(page.text) == {(first + timedelta(days=2)).isoformat(): (1, 2),
                                     first.isoformat(): (3, 1)}
    assert page.text.count('<tr><th scope="row"><time') == 90
    assert 'role="img"' in page.text  # the SVG chart, drawn on the server
    assert "usage-failures-from" not in doc.attrs  # the audit log is kept for ever


def test_usage_says_when_the_audit_log_keeps_failures_for_less_than_the_chart(
        console: Console, headers: dict[str, str], made: Registered,
        clock: ManualClock) -> None:
    assert console.http.put(POLICY, headers=headers,
                            json={"auditRetentionDays": 30}).status_code == 200
    doc = page_of(console.http.get(f"{OAUTH}/{made.id}"))
    assert "keeps failures only from" in doc.text["usage-source"]
    kept_from = clock.now.date() - timedelta(days=30)
    assert doc.attrs["usage-failures-from"]["datetime"] == kept_from.isoformat()


def test_usage_counts_nothing_for_a_client_never_used(console: Console,
                                                      made: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{made.id}")
    assert "0 tokens issued, 0 failed authentications" in " ".join(
        page_of(page).text["usage-totals"].split())
    assert usage_rows(page.text) == {}


# -- sections and activity ---------------------------------------------------------------------


def test_client_page_navigates_to_its_sections(console: Console, made: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{made.id}")
    assert '<nav aria-label="Client sections"' in page.text
    links = re.findall(r'<a href="#([a-z-]+)">', page.text.split('aria-label="Client sections"')
                       [1].split("</nav>")[0])
    assert links == ["settings", "credentials", "roles-and-scopes", "usage", "activity",
                     "lifecycle"]
    doc = page_of(page)
    for section in links:
        assert section in doc.attrs, section


def test_activity_lists_the_clients_audit_entries_and_links_to_the_filtered_log(
        console: Console, made: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{made.id}")
    submit(console, page, "regenerate-secret", dualUseSeconds="3600")
    doc = page_of(console.http.get(f"{OAUTH}/{made.id}"))
    activity = doc.text["client-activity"]
    assert activity.index("secret.regenerate") < activity.index("create")  # newest first
    assert "root@example.com" in activity
    link = doc.attrs["client-audit-link"]["href"]
    assert link == f"/admin/audit?client={made.id}"
    log = console.http.get(link)
    assert log.status_code == 200
    assert "secret.regenerate" in log.text


def test_an_admin_without_the_audit_permission_sees_no_activity(
        http: TestClient, headers: dict[str, str], console: Console, made: Registered) -> None:
    submit(console, http.get(f"{OAUTH}/{made.id}"), "regenerate-secret", dualUseSeconds="0")
    assert "secret.regenerate" in http.get(f"{OAUTH}/{made.id}").text  # root sees it
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Keeper", "permissions": ["oauth:client:*"]})
    assert response.status_code == 200, response.text
    keeper = create_user(http, "keeper@example.com", roles=("Client Keeper",))
    sign_in(http, keeper)
    page = http.get(f"{OAUTH}/{made.id}")
    assert page.status_code == 200
    doc = page_of(page)
    for hidden in ("activity", "client-activity", "client-audit-link"):
        assert hidden not in doc.attrs
    assert "secret.regenerate" not in page.text
    assert "/admin/audit?" not in page.text
    assert "usage" in doc.attrs  # the rest of the page is there


# -- confirmations and notices -----------------------------------------------------------------


def test_disable_and_expiring_the_previous_secret_ask_first_and_say_what_was_done(
        console: Console, made: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{made.id}")
    regenerated = submit(console, page, "regenerate-secret", dualUseSeconds="3600")
    assert regenerated.status_code == 200
    doc = page_of(console.http.get(f"{OAUTH}/{made.id}"))
    assert "Stop the previous secret" in doc.attrs["expire-previous-form"]["data-confirm"]
    assert "Disable Ledger Sync?" in doc.attrs["disable-form"]["data-confirm"]
    expired = submit(console, console.http.get(f"{OAUTH}/{made.id}"), "expire-previous")
    assert 'role="status">The previous secret no longer works.' in expired.text
    disabled = submit(console, expired, "disable")
    assert 'role="status">The client is disabled' in disabled.text


def test_the_activity_use_case_refuses_a_caller_without_the_audit_permission(
        http: TestClient, headers: dict[str, str], made: Registered) -> None:
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Keeper", "permissions": ["oauth:client:*"]})
    assert response.status_code == 200, response.text
    keeper = bootstrap(http, name="keeper", roles=["Client Keeper"])
    auditor = bootstrap(http, name="auditor", roles=["Super Admin"])

    async def read(runtime: Runtime, caller_id: str) -> list[str]:
        async with runtime.transaction() as conn:
            caller = await runtime.callers(conn).of_client(caller_id, "127.0.0.1")
            entries = await runtime.client_activity(conn).recent(caller, made.id)
        return [e.action for e in entries]

    assert "create" in run(http, lambda runtime: read(runtime, auditor.id))
    with pytest.raises(ForbiddenError):
        run(http, lambda runtime: read(runtime, keeper.id))


def status_of(response: Response) -> str:
    """The notice the page shows after an action ("" for none)."""
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', response.text)
    return found.group(1) if found else ""


def test_each_action_on_the_client_page_says_what_it_did(console: Console, made: Registered,
                                                         clock: ManualClock) -> None:
    url = f"{OAUTH}/{made.id}"
    later = (clock.now + timedelta(days=40)).date().isoformat()
    saved = submit(console, console.http.get(f"{url}/edit"), "save", description="renamed")
    assert status_of(saved) == CLIENT_NOTICES["saved"]
    planned = submit(console, console.http.get(url), "plan-deactivation",
                     deactivationDate=later, deactivationReason="replaced by v2")
    assert status_of(planned) == CLIENT_NOTICES["deactivation-planned"]
    cancelled = submit(console, planned, "cancel-deactivation")
    assert status_of(cancelled) == CLIENT_NOTICES["deactivation-cancelled"]
    disabled = submit(console, cancelled, "disable")
    assert status_of(disabled) == CLIENT_NOTICES["disabled"]
    enabled = submit(console, disabled, "enable")
    assert status_of(enabled) == CLIENT_NOTICES["enabled"]
    scheduled = submit(console, enabled, "schedule-deletion", dateToDelete=later)
    assert status_of(scheduled) == CLIENT_NOTICES["deletion-scheduled"]
