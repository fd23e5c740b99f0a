"""The console's inbox (unread count in the navigation, mark read) and deletion-request pages
(a second admin approves or rejects; the requester cannot approve their own)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.people import Console
from tests.support.clients import Registered, bootstrap
from tests.support.findings import make_role
from tests.web.governance.support import CLIENTS, set_policy

CLIENT_PAGES = "/admin/integrations/oauth"
REQUEST_PAGES = "/admin/governance/deletion-requests"


def _target(http: TestClient, headers: dict[str, str]) -> Registered:
    """A client holding a view role only: no finding worth a notice of its own (a client with
    Super Admin would tell every finding editor it is over-privileged)."""
    set_policy(http, deletion_approval=True)
    make_role(http, headers, "Reader", ["oauth:client:view"])
    return bootstrap(http, name="billing service", roles=["Reader"], scopes=["oauth:readonly"])


def test_console_second_admin_approves_a_pending_deletion(
        http: TestClient, headers: dict[str, str], console: Console) -> None:
    target = _target(http, headers)
    filed = http.delete(f"{CLIENTS}/{target.id}", headers=headers).json()
    client_page = http.get(f"{CLIENT_PAGES}/{target.id}")
    assert 'id="deletion-pending"' in client_page.text
    # The console user may approve, so was told: the navigation shows one unread notice.
    assert 'id="unread-count" aria-label="1 unread">1<' in client_page.text
    listed = http.get(REQUEST_PAGES)
    assert f'id="request-{filed["id"]}"' in listed.text
    approved = console.post(f"{REQUEST_PAGES}/{filed['id']}/approve")
    assert approved.status_code == 200
    assert "Approved: the client is deleted." in approved.text
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404


def test_console_requester_cannot_approve_and_must_give_a_reason_to_reject(
        http: TestClient, headers: dict[str, str], console: Console) -> None:
    target = _target(http, headers)
    requested = console.post(f"{CLIENT_PAGES}/{target.id}/delete",
                             {"confirm-name": "billing service"})
    assert requested.status_code == 200
    assert "Deletion requested" in requested.text
    assert 'id="deletion-pending"' in requested.text
    [pending] = http.get("/api/v2/governance/deletion-requests", headers=headers).json()[
        "entities"]
    own = console.post(f"{REQUEST_PAGES}/{pending['id']}/approve")
    assert own.status_code == 403
    assert "second admin" in own.text
    no_reason = console.post(f"{REQUEST_PAGES}/{pending['id']}/reject", {"reason": ""})
    assert no_reason.status_code == 400
    assert "Say why the deletion is rejected" in no_reason.text
    rejected = console.post(f"{REQUEST_PAGES}/{pending['id']}/reject", {"reason": "withdrawn"})
    assert "Rejected: the client stays." in rejected.text
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200


def test_console_inbox_lists_notices_and_marks_them_read(
        http: TestClient, headers: dict[str, str], console: Console) -> None:
    target = _target(http, headers)
    http.delete(f"{CLIENTS}/{target.id}", headers=headers)
    inbox = http.get("/admin/inbox")
    assert "Deletion of OAuth client &#39;billing service&#39; requested" in inbox.text
    notice_id = inbox.text.split('data-notice-id="', 1)[1].split('"', 1)[0]
    marked = console.post(f"/admin/inbox/{notice_id}/read")
    assert "The notice is marked read." in marked.text
    assert 'id="unread-count"' not in marked.text
