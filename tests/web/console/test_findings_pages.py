"""The findings pages: evaluate now, filter, read the evidence, fix in one confirmed step,
archive with a reason and unarchive; and the dashboard's findings summary."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.people import Console, create_user, sign_in
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.findings import evaluate, findings_of, make_role
from tests.support.management import audit_events
from tests.web.console.test_dashboard import section

PAGES = "/admin/governance/findings"


def long_lived(http: TestClient, headers: dict[str, str]) -> Registered:
    """A service client whose tokens outlive the policy's maximum (a one-step fix)."""
    make_role(http, headers, "Reader", ["oauth:client:view"])
    return bootstrap(http, name="long lived", roles=["Reader"], scopes=["oauth:readonly"],
                     accessTokenValiditySeconds=90_000)


def rows(html: str) -> dict[str, str]:
    """The list's rows by ``data-kind``, each its inner HTML (the last row of a kind wins)."""
    return dict(re.findall(r'<tr data-finding-id="[^"]+" data-kind="([^"]+)">(.*?)</tr>', html,
                           re.DOTALL))


@pytest.mark.usefixtures("admin")  # the bootstrap admin: something to find
def test_findings_pages_evaluate_now_then_filter_by_kind(console: Console) -> None:
    assert console.http.get(PAGES).status_code == 200
    done = console.post(f"{PAGES}/evaluate")
    assert done.url.path == PAGES
    assert "Findings evaluated." in done.text
    shown = rows(done.text)
    assert "over-privileged" in shown
    assert "test admin" in shown["over-privileged"]
    assert "Super Admin" in shown["over-privileged"]  # the evidence
    only = console.http.get(PAGES, params={"kind": "no-owner"})
    assert set(rows(only.text)) == {"no-owner"}
    bad = console.http.get(PAGES, params={"kind": "nope"})
    assert bad.status_code == 200
    assert 'id="filter-error"' in bad.text
    assert "kind must be one of" in bad.text


def test_findings_pages_fix_is_one_confirmed_step_in_the_users_name(
        console: Console, http: TestClient, headers: dict[str, str]) -> None:
    svc = long_lived(http, headers)
    evaluate(http, headers)
    finding = findings_of(http, headers, svc.id)["token-duration-above-policy"]
    listed = console.http.get(PAGES, params={"clientId": svc.id}).text
    fix_form = re.search(rf'<form method="post" action="{PAGES}/{finding["id"]}/remedy" '
                         r'data-confirm="([^"]+)"', listed)
    assert fix_form, "no Fix button"
    assert "Shorten the token duration" in fix_form.group(1)
    fixed = console.post(f"{PAGES}/{finding['id']}/remedy")
    assert fixed.url.path == f"{PAGES}/{finding['id']}"
    assert '<dd id="state">resolved</dd>' in fixed.text
    assert http.get(f"{CLIENTS}/{svc.id}", headers=headers).json()[
        "accessTokenValiditySeconds"] == 86_400
    change = audit_events(http, headers, entity_id=svc.id, action="update")[-1]
    assert change["user"]["id"] == console.person.id


def test_findings_pages_archive_needs_a_reason_then_unarchive(
        console: Console, admin: Registered, http: TestClient,
        headers: dict[str, str]) -> None:
    evaluate(http, headers)
    finding = findings_of(http, headers, admin.id)["over-privileged"]
    url = f"{PAGES}/{finding['id']}"
    page = console.http.get(url)
    assert "administrativeRoles" in section_of(page.text, "evidence")
    refused = console.post(f"{url}/archive", {"reason": ""})
    assert refused.status_code == 400
    assert "reason" in refused.text.lower()
    archived = console.post(f"{url}/archive", {"reason": "break-glass admin"})
    assert '<dd id="state">archived</dd>' in archived.text
    assert "break-glass admin" in archived.text
    restored = console.post(f"{url}/unarchive")
    assert '<dd id="state">active</dd>' in restored.text


def section_of(html: str, dl_id: str) -> str:
    found = re.search(rf'<dl class="evidence" id="{dl_id}">(.*?)</dl>', html, re.DOTALL)
    assert found
    return found.group(1)


def test_findings_pages_dashboard_counts_by_severity_and_kind_and_worst_clients(
        console: Console, admin: Registered, http: TestClient,
        headers: dict[str, str]) -> None:
    long_lived(http, headers)
    evaluate(http, headers)
    summary = section(console.http.get("/admin").text, "findings-summary")
    critical = re.search(r'data-severity="critical"[^>]*>\s*<div class="figure">(\d+)</div>',
                         summary)
    assert critical
    assert critical.group(1) == "1"
    assert re.search(r'<tr data-kind="token-duration-above-policy">.*?<td>1</td>', summary)
    worst = re.findall(r'<tr data-client-id="([^"]+)">', summary)
    assert worst[0] == admin.id  # the critical one first


def test_findings_pages_refused_without_the_permission(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    make_role(http, headers, "Client Viewer", ["oauth:client:view"])
    person = create_user(http, "viewer@example.com", roles=("Client Viewer",))
    sign_in(http, person)
    assert http.get(PAGES).status_code == 403
    assert 'id="findings-summary"' not in http.get("/admin").text
