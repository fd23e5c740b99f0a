"""Access review campaigns and items (SQLAlchemy Core over the request's connection; never
commits): the CampaignStore and ReviewItemStore ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update

from keystead.domain.governance.reviews import (
    REMINDER_BEFORE,
    Campaign,
    CampaignState,
    Decision,
    Progress,
    Removed,
    ReviewItem,
    selection_from_document,
)
from keystead.domain.paging import Page
from keystead.store import actors
from keystead.store.governance_tables import review_campaigns, review_items
from keystead.store.rows import page_of
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID


def _campaign(row: Mapping[Any, Any]) -> Campaign:
    return Campaign(id=row["id"], name=row["name"], due_at=row["due_at"],
                    selection=selection_from_document(row["selection"]),
                    fallback_reviewer_id=row["fallback_reviewer_id"],
                    owner=actors.from_json(row["owner"]),
                    state=CampaignState(row["state"]), created_at=row["created_at"],
                    closed_at=row["closed_at"], closed_reason=row["closed_reason"])


def _item(row: Mapping[Any, Any]) -> ReviewItem:
    removed = row["removed"] or {}
    return ReviewItem(
        id=row["id"], campaign_id=row["campaign_id"], client_id=row["client_id"],
        client_name=row["client_name"], reviewer_id=row["reviewer_id"],
        reviewer_name=row["reviewer_name"],
        decision=None if row["decision"] is None else Decision(row["decision"]),
        comment=row["comment"], decided_by=actors.from_json_or_none(row["decided_by"]),
        decided_at=row["decided_at"],
        removed=Removed(tuple(removed.get("scopes", ())), tuple(removed.get("roleIds", ()))),
        reminded_at=row["reminded_at"], escalated_at=row["escalated_at"])


def _item_values(item: ReviewItem) -> dict[str, Any]:
    return {"decision": None if item.decision is None else item.decision.value,
            "comment": item.comment, "decided_by": actors.to_json_or_none(item.decided_by),
            "decided_at": item.decided_at,
            "removed": {"scopes": list(item.removed.scopes),
                        "roleIds": list(item.removed.role_ids)},
            "reminded_at": item.reminded_at, "escalated_at": item.escalated_at}


class SqlCampaignStore(SqlStore):
    async def add(self, campaign: Campaign) -> None:
        await self.conn.execute(insert(review_campaigns).values(
            id=campaign.id, organization_id=ORG_ID, name=campaign.name, due_at=campaign.due_at,
            selection=campaign.selection.to_document(),
            fallback_reviewer_id=campaign.fallback_reviewer_id,
            owner=actors.to_json(campaign.owner), state=campaign.state.value,
            created_at=campaign.created_at, closed_at=campaign.closed_at,
            closed_reason=campaign.closed_reason))

    async def find(self, campaign_id: str) -> Campaign | None:
        row = (await self.conn.execute(select(review_campaigns).where(
            review_campaigns.c.id == campaign_id))).mappings().first()
        return None if row is None else _campaign(row)

    async def newest_first(self, page: Page) -> tuple[Sequence[Campaign], int]:
        rows, total = await page_of(
            self.conn, review_campaigns, select(review_campaigns).order_by(
                review_campaigns.c.created_at.desc(), review_campaigns.c.id), [], page)
        return [_campaign(r._mapping) for r in rows], total

    async def open_due_for_attention(self, now: datetime) -> Sequence[Campaign]:
        # SKIP LOCKED: replicas attending at once never remind, escalate or close twice.
        rows = (await self.conn.execute(select(review_campaigns).where(
            review_campaigns.c.state == CampaignState.open.value,
            review_campaigns.c.due_at <= now + REMINDER_BEFORE,
        ).order_by(review_campaigns.c.due_at).with_for_update(skip_locked=True))
        ).mappings().all()
        return [_campaign(r) for r in rows]

    async def close(self, campaign_id: str, *, now: datetime, reason: str) -> bool:
        done = await self.conn.execute(update(review_campaigns).where(
            review_campaigns.c.id == campaign_id,
            review_campaigns.c.state == CampaignState.open.value,
        ).values(state=CampaignState.closed.value, closed_at=now, closed_reason=reason[:200]))
        return bool(done.rowcount)


class SqlReviewItemStore(SqlStore):
    async def add_all(self, items: Sequence[ReviewItem]) -> None:
        if items:
            await self.conn.execute(insert(review_items), [
                {"id": i.id, "campaign_id": i.campaign_id, "client_id": i.client_id,
                 "client_name": i.client_name[:128], "reviewer_id": i.reviewer_id,
                 "reviewer_name": i.reviewer_name[:128], **_item_values(i)} for i in items])

    async def of_campaign(self, campaign_id: str) -> Sequence[ReviewItem]:
        rows = (await self.conn.execute(select(review_items).where(
            review_items.c.campaign_id == campaign_id).order_by(
            review_items.c.client_name, review_items.c.id))).mappings().all()
        return [_item(r) for r in rows]

    async def find(self, campaign_id: str, item_id: str) -> ReviewItem | None:
        # FOR UPDATE: two reviewers deciding one item at once decide it once (the second waits,
        # then finds it decided).
        row = (await self.conn.execute(select(review_items).where(
            review_items.c.campaign_id == campaign_id, review_items.c.id == item_id)
            .with_for_update())).mappings().first()
        return None if row is None else _item(row)

    async def assigned_to(self, user_id: str) -> Sequence[tuple[Campaign, ReviewItem]]:
        joined = review_items.join(review_campaigns,
                                   review_items.c.campaign_id == review_campaigns.c.id)
        rows = (await self.conn.execute(
            select(review_items, *[c.label(f"c__{c.name}") for c in review_campaigns.c])
            .select_from(joined).where(
                review_items.c.reviewer_id == user_id,
                review_campaigns.c.state == CampaignState.open.value)
            .order_by(review_campaigns.c.due_at, review_items.c.client_name,
                      review_items.c.id))).mappings().all()
        return [(_campaign({c.name: r[f"c__{c.name}"] for c in review_campaigns.c}),
                 _item(r)) for r in rows]

    async def save(self, item: ReviewItem) -> None:
        await self.conn.execute(update(review_items).where(
            review_items.c.id == item.id).values(**_item_values(item)))

    async def progress(self, campaign_ids: Sequence[str]) -> Mapping[str, Progress]:
        if not campaign_ids:
            return {}
        rows = await self.conn.execute(
            select(review_items.c.campaign_id, func.count(),
                   func.sum(case((review_items.c.decision.is_not(None), 1), else_=0)))
            .where(review_items.c.campaign_id.in_(campaign_ids))
            .group_by(review_items.c.campaign_id))
        return {campaign_id: Progress(int(items), int(decided or 0))
                for campaign_id, items, decided in rows}

    async def last_reviewed(self, client_id: str) -> datetime | None:
        found: datetime | None = (await self.conn.execute(
            select(func.max(review_items.c.decided_at)).where(
                review_items.c.client_id == client_id))).scalar_one()
        return found

    async def last_reviewed_all(self, client_ids: Sequence[str]) -> Mapping[str, datetime]:
        if not client_ids:
            return {}
        rows = await self.conn.execute(
            select(review_items.c.client_id, func.max(review_items.c.decided_at))
            .where(review_items.c.client_id.in_(client_ids),
                   review_items.c.decided_at.is_not(None))
            .group_by(review_items.c.client_id))
        return {str(row[0]): row[1] for row in rows}
