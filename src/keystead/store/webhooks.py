"""Webhook endpoints and their delivery log (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from keystead.domain.paging import Page
from keystead.domain.webhooks.endpoints import Delivery, DeliveryStatus, WebhookEndpoint
from keystead.store import actors
from keystead.store.sql_store import SqlStore
from keystead.store.webhook_tables import webhook_deliveries, webhook_endpoints

_PUBLIC = [c for c in webhook_endpoints.c if c.name != "secret_sealed"]


def _endpoint(r: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=r["id"], url=r["url"], event_types=tuple(r["event_types"]),
        description=r["description"], created_at=r["created_at"],
        created_by=actors.from_json(r["created_by"]), enabled=r["enabled"],
        consecutive_failures=r["consecutive_failures"], failing_since=r["failing_since"],
        disabled_at=r["disabled_at"], disabled_reason=r["disabled_reason"])


def _delivery(r: Any) -> Delivery:
    return Delivery(
        id=r["id"], endpoint_id=r["endpoint_id"], event_id=r["event_id"],
        event_type=r["event_type"], client_id=r["client_id"], attempt=r["attempt"],
        status=DeliveryStatus(r["status"]), status_code=r["status_code"],
        latency_ms=r["latency_ms"], error=r["error"], at=r["at"], body=dict(r["body"]))


class SqlWebhookEndpoints(SqlStore):
    """The EndpointStore and EndpointHealth ports."""

    async def add(self, endpoint: WebhookEndpoint, *, sealed_secret: str) -> None:
        await self.conn.execute(insert(webhook_endpoints).values(
            id=endpoint.id, url=endpoint.url, event_types=list(endpoint.event_types),
            description=endpoint.description, secret_sealed=sealed_secret,
            created_at=endpoint.created_at,
            created_by=actors.to_json(endpoint.created_by),
            enabled=endpoint.enabled, consecutive_failures=0, disabled_reason=""))

    async def find(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = (await self.conn.execute(select(*_PUBLIC).where(
            webhook_endpoints.c.id == endpoint_id))).mappings().one_or_none()
        return _endpoint(row) if row else None

    async def search(self, page: Page) -> tuple[Sequence[WebhookEndpoint], int]:
        total = (await self.conn.execute(
            select(func.count()).select_from(webhook_endpoints))).scalar_one()
        rows = (await self.conn.execute(select(*_PUBLIC).order_by(
            webhook_endpoints.c.created_at, webhook_endpoints.c.id).offset(
            (page.number - 1) * page.size).limit(page.size))).mappings().all()
        return [_endpoint(r) for r in rows], int(total)

    async def delete(self, endpoint_id: str) -> bool:
        await self.conn.execute(delete(webhook_deliveries).where(
            webhook_deliveries.c.endpoint_id == endpoint_id))  # SQLite may not cascade
        done = await self.conn.execute(delete(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id))
        return bool(done.rowcount)

    async def subscribed(self, event_type: str) -> list[str]:
        # Few endpoints: the subscription list is read whole rather than queried per dialect.
        rows = (await self.conn.execute(select(
            webhook_endpoints.c.id, webhook_endpoints.c.event_types).order_by(
            webhook_endpoints.c.id))).all()
        return [r.id for r in rows if event_type in r.event_types]

    async def sealed_secret(self, endpoint_id: str) -> str | None:
        found = (await self.conn.execute(select(webhook_endpoints.c.secret_sealed).where(
            webhook_endpoints.c.id == endpoint_id))).scalar_one_or_none()
        return str(found) if found is not None else None

    async def failed(self, endpoint_id: str, *, now: datetime) -> WebhookEndpoint | None:
        # One UPDATE: attempts for other clients may fail at the same time.
        await self.conn.execute(update(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id).values(
            consecutive_failures=webhook_endpoints.c.consecutive_failures + 1,
            failing_since=func.coalesce(webhook_endpoints.c.failing_since, now)))
        return await self.find(endpoint_id)

    async def succeeded(self, endpoint_id: str) -> None:
        await self.conn.execute(update(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.consecutive_failures > 0).values(
            consecutive_failures=0, failing_since=None))

    async def set_enabled(self, endpoint_id: str, enabled: bool, *, now: datetime,
                          reason: str = "") -> bool:
        values: dict[str, Any] = {"enabled": enabled, "consecutive_failures": 0,
                                  "failing_since": None}
        values |= ({"disabled_at": None, "disabled_reason": ""} if enabled
                   else {"disabled_at": now, "disabled_reason": reason})
        done = await self.conn.execute(update(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.enabled.is_(not enabled)).values(**values))
        return bool(done.rowcount)


class SqlDeliveryLog(SqlStore):
    """The DeliveryLog port."""

    async def record(self, delivery: Delivery) -> None:
        await self.conn.execute(insert(webhook_deliveries).values(
            id=delivery.id, endpoint_id=delivery.endpoint_id, event_id=delivery.event_id,
            event_type=delivery.event_type, client_id=delivery.client_id,
            attempt=delivery.attempt, status=str(delivery.status),
            status_code=delivery.status_code, latency_ms=delivery.latency_ms,
            error=delivery.error, at=delivery.at, body=delivery.body))

    async def attempts(self, endpoint_id: str, event_id: str) -> int:
        return int((await self.conn.execute(select(func.count()).where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.event_id == event_id))).scalar_one())

    async def search(self, endpoint_id: str, page: Page) -> tuple[Sequence[Delivery], int]:
        where = webhook_deliveries.c.endpoint_id == endpoint_id
        total = (await self.conn.execute(select(func.count()).select_from(
            webhook_deliveries).where(where))).scalar_one()
        rows = (await self.conn.execute(select(webhook_deliveries).where(where).order_by(
            webhook_deliveries.c.at.desc(), webhook_deliveries.c.attempt.desc(),
            webhook_deliveries.c.id).offset((page.number - 1) * page.size).limit(
            page.size))).mappings().all()
        return [_delivery(r) for r in rows], int(total)

    async def find(self, delivery_id: str) -> Delivery | None:
        row = (await self.conn.execute(select(webhook_deliveries).where(
            webhook_deliveries.c.id == delivery_id))).mappings().one_or_none()
        return _delivery(row) if row else None

    async def undelivered(self, endpoint_id: str) -> list[Delivery]:
        taken = select(webhook_deliveries.c.event_id).where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.status == str(DeliveryStatus.delivered))
        rows = (await self.conn.execute(select(webhook_deliveries).where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.event_id.not_in(taken)).order_by(
            webhook_deliveries.c.at, webhook_deliveries.c.attempt,
            webhook_deliveries.c.id))).mappings().all()
        first: dict[str, Delivery] = {}
        for row in rows:
            first.setdefault(row["event_id"], _delivery(row))
        return list(first.values())

    async def purge_before(self, before: datetime) -> int:
        done = await self.conn.execute(delete(webhook_deliveries).where(
            webhook_deliveries.c.at < before))
        return int(done.rowcount or 0)
