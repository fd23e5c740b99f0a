"""Access reviews as people use them (ReviewManagement on both stores): each client goes to its
owner while the owner is active, else to the fallback reviewer; a reviewer sees and decides only
their own items; an owner may reduce or retire their client without ``oauth:client:edit`` and
the change is audited under them; anyone else needs the permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import ClientState
from keystead.domain.errors import ForbiddenError
from keystead.domain.governance.review_management import ReviewManagement
from keystead.domain.governance.reviews import Campaign, Decision, Selection, SelectionKind
from keystead.domain.principal import Caller, operator
from keystead.store.audit import AuditQuery, SqlAuditLog
from keystead.store.reviews import SqlReviewItemStore
from keystead.web.runtime import Runtime
from tests.people import create_user
from tests.support.apps import run
from tests.support.clock import ManualClock
from tests.support.reviews import client_of, deactivate_user, governed_client, state_of

T = TypeVar("T")


def as_user(http: TestClient, user_id: str,
            work: Callable[[ReviewManagement, Caller], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction as the user (their grants as the console reads them)."""

    async def go(runtime: Runtime) -> T:
        async with runtime.transaction() as conn:
            caller = await runtime.callers(conn).of_active_user(user_id, "")
            assert caller is not None
            return await work(runtime.reviews(conn), caller)

    return run(http, go)


def start(http: TestClient, clock: ManualClock, fallback: str, client_ids: list[str]) -> Campaign:
    async def work(runtime: Runtime) -> Campaign:
        async with runtime.transaction() as conn:
            return await runtime.reviews(conn).start(
                operator(), name="quarterly", due_at=clock.now + timedelta(days=14),
                selection=Selection(SelectionKind.client_ids, tuple(client_ids)),
                fallback_reviewer_id=fallback)

    return run(http, work)


@pytest.fixture
def people(http: TestClient) -> dict[str, str]:
    """An owner and a fallback reviewer holding no role, and an owner who has left."""
    return {"owner": create_user(http, "owner@example.com", name="Olive Owner").id,
            "fallback": create_user(http, "fallback@example.com", name="Fran Fallback").id,
            "gone": create_user(http, "gone@example.com", name="Gone").id}


def test_items_go_to_active_owners_else_the_fallback(http: TestClient, clock: ManualClock,
                                                     people: dict[str, str]) -> None:
    owned = governed_client(http, "owned", owner_id=people["owner"])
    orphaned = governed_client(http, "orphaned", owner_id=people["gone"])
    unowned = governed_client(http, "unowned")
    deactivate_user(http, people["gone"])

    campaign = start(http, clock, people["fallback"], [owned, orphaned, unowned])

    async def mine(reviews: ReviewManagement, caller: Caller) -> set[str]:
        return {item.client_id for _c, item in await reviews.assigned(caller)}

    assert as_user(http, people["owner"], mine) == {owned}
    assert as_user(http, people["fallback"], mine) == {orphaned, unowned}

    async def seen(reviews: ReviewManagement, caller: Caller) -> tuple[bool, set[str]]:
        view = await reviews.view(caller, campaign.id)
        return view.partial, {i.client_id for i in view.items}

    # Without governance:review:view a reviewer sees the campaign with their own items only.
    assert as_user(http, people["owner"], seen) == (True, {owned})
    stranger = create_user(http, "stranger@example.com").id
    with pytest.raises(ForbiddenError):
        as_user(http, stranger, seen)


def test_an_owner_reduces_their_client_without_client_edit_audited_under_them(
        http: TestClient, clock: ManualClock, people: dict[str, str]) -> None:
    owned = governed_client(http, "owned", owner_id=people["owner"])
    campaign = start(http, clock, people["fallback"], [owned])

    async def reduce(reviews: ReviewManagement, caller: Caller) -> None:
        assert not caller.has_permission("oauth:client:edit")
        ((_c, item),) = await reviews.assigned(caller)
        decided = await reviews.decide(caller, campaign.id, item.id, decision="reduce",
                                       comment="audits are read elsewhere now",
                                       scopes=["audits:readonly"])
        assert decided.decision is Decision.reduce

    as_user(http, people["owner"], reduce)

    client = client_of(http, owned)
    assert client is not None
    assert "audits:readonly" not in client.settings.scopes

    async def entries(runtime: Runtime) -> list[tuple[str, str, str]]:
        async with runtime.transaction() as conn:
            found, _ = await SqlAuditLog(conn).query(AuditQuery(
                start=clock.now - timedelta(days=1), end=clock.now + timedelta(days=1),
                entity_id=owned, page_number=1, page_size=100, newest_first=False))
            return [(s.event.action, s.event.actor_kind, s.event.actor_id) for s in found]

    assert ("scopes.change", "user", people["owner"]) in run(http, entries)

    async def last(runtime: Runtime) -> tuple[object, object]:
        async with runtime.transaction() as conn:
            items = SqlReviewItemStore(conn)
            return (await items.last_reviewed(owned),
                    await items.last_reviewed_all([owned, "never-reviewed"]))

    assert run(http, last) == (clock.now, {owned: clock.now})


def test_a_fallback_reviewer_may_keep_but_not_change_a_client_they_cannot_edit(
        http: TestClient, clock: ManualClock, people: dict[str, str]) -> None:
    unowned = governed_client(http, "unowned")
    campaign = start(http, clock, people["fallback"], [unowned])

    async def try_retire(reviews: ReviewManagement, caller: Caller) -> None:
        ((_c, item),) = await reviews.assigned(caller)
        await reviews.decide(caller, campaign.id, item.id, decision="retire", comment="old")

    with pytest.raises(ForbiddenError, match="oauth:client:edit"):
        as_user(http, people["fallback"], try_retire)
    assert state_of(http, unowned) is ClientState.active

    async def keep(reviews: ReviewManagement, caller: Caller) -> Decision | None:
        ((_c, item),) = await reviews.assigned(caller)
        decided = await reviews.decide(caller, campaign.id, item.id, decision="keep",
                                       comment="still in use by billing")
        return decided.decision

    assert as_user(http, people["fallback"], keep) is Decision.keep


def test_only_the_campaign_owner_or_a_review_editor_closes_it(
        http: TestClient, clock: ManualClock, people: dict[str, str]) -> None:
    owned = governed_client(http, "owned", owner_id=people["owner"])
    campaign = start(http, clock, people["fallback"], [owned])

    async def close(reviews: ReviewManagement, caller: Caller) -> Campaign:
        return await reviews.close(caller, campaign.id)

    with pytest.raises(ForbiddenError, match="governance:review:edit"):
        as_user(http, people["owner"], close)
    editor = create_user(http, "editor@example.com", roles=("OAuth Admin",)).id
    assert as_user(http, editor, close).closed_reason == "closed by editor@example.com"


class FindingsStandIn:
    """The findings engine as ``FindingLookup`` (wired at merge): fixed answers."""

    def __init__(self, by_kind: dict[str, set[str]]) -> None:
        self.by_kind = by_kind

    async def clients_with(self, kind: str) -> set[str]:
        return self.by_kind.get(kind, set())


def test_selection_by_finding_kind_once_the_findings_engine_is_wired(
        http: TestClient, clock: ManualClock, people: dict[str, str]) -> None:
    unused = governed_client(http, "unused one")
    governed_client(http, "busy one")

    async def work(runtime: Runtime) -> set[str]:
        async with runtime.transaction() as conn:
            reviews = replace(runtime.reviews(conn),
                              findings=FindingsStandIn({"unused-client": {unused}}))
            campaign = await reviews.start(
                operator(), name="unused clients", due_at=clock.now + timedelta(days=7),
                selection=Selection(SelectionKind.finding_kind, ("unused-client",)),
                fallback_reviewer_id=people["fallback"])
            return {i.client_id for i in await reviews.items.of_campaign(campaign.id)}

    assert run(http, work) == {unused}
