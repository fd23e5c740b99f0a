"""Console pages for access reviews: an admin starts a review from the form; the owner (with no
role at all) finds the client under "My reviews", sees its evidence of use, reduces it, and the
change is audited under them; bad input comes back beside its field; the printable report and
its CSV show every decision."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from keystead.domain.clients import ClientState, Environment
from tests.people import Console, create_user, sign_in
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.reviews import client_of, due_in, governed_client, state_of


def _item_form(page: str, client_id: str) -> str:
    found = re.search(rf'data-client-id="{client_id}".*?action="([^"]+/items/[^"]+)"', page,
                      re.S)
    assert found, "no decision form for the client"
    return found.group(1)


def test_start_a_review_then_the_owner_reduces_their_client(
        console: Console, http: TestClient, headers: dict[str, str],
        clock: ManualClock) -> None:
    owner = create_user(http, "owner@example.com", name="Olive Owner")
    owned = governed_client(http, "ledger sync", owner_id=owner.id,
                            environment=Environment.production)
    other = governed_client(http, "crm import", environment=Environment.production)

    form = console.http.get("/admin/reviews/new")
    assert form.status_code == 200
    refused = console.post("/admin/reviews/new", {
        "name": "Q4", "dueDate": "2000-01-01", "selectionKind": "environment",
        "selectionValue": "production", "fallbackReviewer": "root@example.com"})
    assert refused.status_code == 400
    assert "dueDate must be in the future" in refused.text.replace("DueDate", "dueDate")
    started = console.post("/admin/reviews/new", {
        "name": "Q4 production review", "dueDate": due_in(clock.now, 10)[:10],
        "selectionKind": "environment", "selectionValue": "production",
        "fallbackReviewer": "root@example.com"})
    assert started.status_code == 200, started.text
    campaign_id = started.url.path.rsplit("/", 1)[1]
    assert "Access review started" in started.text
    assert f'data-client-id="{owned}"' in started.text
    assert f'data-client-id="{other}"' in started.text
    assert "Olive Owner" in started.text

    console.http.cookies.clear()
    sign_in(http, owner)
    mine = http.get("/admin/reviews/assigned")
    assert mine.status_code == 200
    assert "ledger sync" in mine.text
    assert "crm import" not in mine.text
    assert 'href="/admin/reviews/assigned"' in mine.text  # the nav link for a reviewer
    page = http.get(f"/admin/reviews/{campaign_id}")
    assert page.status_code == 200
    assert "You see the clients assigned to you." in page.text
    assert f'data-client-id="{other}"' not in page.text
    assert "Tokens" in page.text
    assert "unused" in page.text
    action = _item_form(page.text, owned)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf

    no_comment = http.post(action, data={"decision": "reduce", "scopes": "audits:readonly",
                                         "csrf_token": csrf.group(1)})
    assert no_comment.status_code == 400
    assert "comment is required" in no_comment.text.lower()
    client = client_of(http, owned)
    assert client is not None
    assert "audits:readonly" in client.settings.scopes

    done = http.post(action, data={"decision": "reduce", "scopes": "audits:readonly",
                                   "comment": "=cmd|' /C calc'!A0", "csrf_token": csrf.group(1)})
    assert done.status_code == 200, done.text
    assert "Decision saved." in done.text
    client = client_of(http, owned)
    assert client is not None
    assert "audits:readonly" not in client.settings.scopes
    changes = audit_events(http, headers, entity_id=owned, action="scopes.change")
    assert [(e["user"] or {}).get("id") for e in changes] == [owner.id]

    report = http.get(f"/admin/reviews/{campaign_id}/report")
    assert report.status_code == 200
    assert "Access review report: Q4 production review" in report.text
    assert "reduce" in report.text
    assert "audits:readonly" in report.text
    as_csv = http.get(f"/admin/reviews/{campaign_id}/report.csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "'=cmd|" in as_csv.text  # a formula in a comment arrives as text
    # The owner may not close someone else's review nor see the list of all reviews.
    assert http.get("/admin/reviews").status_code == 403
    assert f'action="/admin/reviews/{campaign_id}/close"' not in page.text
    assert state_of(http, other) is ClientState.active


def test_an_admin_decides_and_closes_from_the_campaign_page(
        console: Console, http: TestClient, clock: ManualClock) -> None:
    retired = governed_client(http, "old batch", tags=("batch",))
    started = console.post("/admin/reviews/new", {
        "name": "Batch jobs", "dueDate": due_in(clock.now, 5)[:10], "selectionKind": "tags",
        "selectionValue": "batch, nothing", "fallbackReviewer": "root@example.com"})
    assert started.status_code == 200, started.text
    campaign_id = started.url.path.rsplit("/", 1)[1]
    listing = console.http.get("/admin/reviews")
    assert "Batch jobs" in listing.text
    assert "0 of 1" in listing.text

    action = _item_form(started.text, retired)
    done = console.post(action, {"decision": "retire", "comment": "replaced by the new job"})
    assert done.status_code == 200, done.text
    assert state_of(http, retired) is ClientState.inactive
    assert 'data-decision="retire"' in done.text

    closed = console.post(f"/admin/reviews/{campaign_id}/close")
    assert closed.status_code == 200
    assert "Access review closed." in closed.text
    assert 'data-state="closed"' in closed.text
    unknown = console.http.get("/admin/reviews/00000000-0000-4000-8000-00000000dead")
    assert unknown.status_code == 404
    assert console.http.get("/admin/reviews/not-an-id").status_code == 404


def test_a_bad_choice_of_clients_is_marked_on_its_select(console: Console) -> None:
    refused = console.post("/admin/reviews/new", {
        "name": "Q4", "dueDate": "2999-01-01", "selectionKind": "everyone",
        "selectionValue": "", "fallbackReviewer": "root@example.com"})
    assert refused.status_code == 400
    select = re.search(r'<select id="selectionKind"[^>]*>', refused.text)
    assert select, "the form lost its select"
    assert 'aria-invalid="true"' in select.group(0)
    assert 'aria-describedby="selectionKind-hint selectionKind-error"' in select.group(0)
    assert 'id="selectionKind-error"' in refused.text
