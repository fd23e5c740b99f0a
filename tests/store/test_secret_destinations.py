"""The secret-destination store on both stores: a destination and its schedule round-trip, are
replaced in place, go with their client, and a due rotation is claimed by one caller only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from keystead.domain.clients import Actor
from keystead.domain.secret_delivery import Delivery, Schedule
from keystead.store.secret_destinations import SqlDeliveryStore
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, service

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=30)


def delivery(client_id: str, *, next_at: datetime | None = DUE) -> Delivery:
    return Delivery(client_id, "vault", {"mount": "secret", "path": "apps/{clientId}"},
                    Schedule(30, 3_600), next_at, None, NOW, Actor("cli", "ops", "ops"))


def test_destination_round_trips_and_is_replaced_in_place(http: TestClient,
                                                          admin: Registered) -> None:
    async def work(runtime: Runtime) -> tuple[Delivery | None, Delivery | None]:
        async with runtime.transaction() as conn:
            store = SqlDeliveryStore(conn)
            await store.put(delivery(admin.id))
            first = await store.find(admin.id)
            await store.put(Delivery(admin.id, "file", {"directory": "/run/secrets"}, None,
                                     None, NOW, NOW, Actor("cli", "ops", "ops")))
            return first, await store.find(admin.id)

    first, second = run(http, work)

    assert first == delivery(admin.id)
    assert second == Delivery(admin.id, "file", {"directory": "/run/secrets"}, None, None, NOW,
                              NOW, Actor("cli", "ops", "ops"))


def test_due_rotation_is_claimed_once(http: TestClient, admin: Registered) -> None:
    async def work(runtime: Runtime) -> tuple[list[str], list[str], bool, bool]:
        async with runtime.transaction() as conn:
            store = SqlDeliveryStore(conn)
            await store.put(delivery(admin.id))
            before = [d.client_id for d in await store.due(DUE - timedelta(seconds=1))]
            due = [d.client_id for d in await store.due(DUE)]
            won = await store.claim(admin.id, seen=DUE, next_at=DUE + timedelta(days=30),
                                    delivered_at=DUE)
            again = await store.claim(admin.id, seen=DUE, next_at=DUE + timedelta(days=30),
                                      delivered_at=DUE)
            return before, due, won, again

    before, due, won, again = run(http, work)

    assert (before, due) == ([], [admin.id])
    assert (won, again) == (True, False)


def test_destination_goes_with_its_client(http: TestClient, headers: dict[str, str]) -> None:
    gone = service(http)

    async def put(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await SqlDeliveryStore(conn).put(delivery(gone.id))

    async def find(runtime: Runtime) -> Delivery | None:
        async with runtime.transaction() as conn:
            return await SqlDeliveryStore(conn).find(gone.id)

    run(http, put)
    assert http.delete(f"{CLIENTS}/{gone.id}", headers=headers).status_code == 204
    assert run(http, find) is None
