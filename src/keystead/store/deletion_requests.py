"""Deletion requests (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, update

from keystead.domain.governance.deletion_requests import DeletionRequest, RequestState
from keystead.domain.paging import Page
from keystead.store import actors
from keystead.store.governance_tables import deletion_requests as table
from keystead.store.rows import page_of
from keystead.store.sql_store import SqlStore


def _request(r: Any) -> DeletionRequest:
    return DeletionRequest(
        id=r["id"], client_id=r["client_id"], client_name=r["client_name"],
        requested_by=actors.from_json(r["requested_by"]), requested_at=r["requested_at"],
        expires_at=r["expires_at"], state=RequestState(r["state"]),
        decided_by=actors.from_json_or_none(r["decided_by"]), decided_at=r["decided_at"],
        reason=r["reason"])


class SqlDeletionRequestStore(SqlStore):
    """The DeletionRequestStore port."""

    async def add(self, request: DeletionRequest) -> None:
        await self.conn.execute(insert(table).values(
            id=request.id, client_id=request.client_id, client_name=request.client_name,
            requested_by=actors.to_json(request.requested_by), requested_at=request.requested_at,
            expires_at=request.expires_at, state=str(request.state), reason=request.reason))

    async def find(self, request_id: str) -> DeletionRequest | None:
        row = (await self.conn.execute(select(table).where(table.c.id == request_id))
               ).mappings().one_or_none()
        return _request(row) if row else None

    async def pending_for(self, client_id: str, *, now: datetime) -> DeletionRequest | None:
        row = (await self.conn.execute(select(table).where(
            table.c.client_id == client_id, table.c.state == str(RequestState.pending),
            table.c.expires_at > now).order_by(table.c.requested_at.desc()).limit(1))
               ).mappings().one_or_none()
        return _request(row) if row else None

    async def search(self, page: Page, *, client_id: str | None = None,
                     state: RequestState | None = None, now: datetime
                     ) -> tuple[Sequence[DeletionRequest], int]:
        conditions: list[ColumnElement[bool]] = []
        if client_id is not None:
            conditions.append(table.c.client_id == client_id)
        pending = table.c.state == str(RequestState.pending)
        if state is RequestState.pending:
            conditions.append(and_(pending, table.c.expires_at > now))
        elif state is RequestState.expired:
            conditions.append(and_(pending, table.c.expires_at <= now))
        elif state is not None:
            conditions.append(table.c.state == str(state))
        rows, total = await page_of(
            self.conn, table, select(table).order_by(table.c.requested_at.desc(), table.c.id),
            conditions, page)
        return [_request(r._mapping).as_of(now) for r in rows], total

    async def decide(self, request: DeletionRequest) -> bool:
        # The database decides a race between two admins: only one update finds it pending.
        done = await self.conn.execute(update(table).where(
            table.c.id == request.id, table.c.state == str(RequestState.pending)).values(
            state=str(request.state), reason=request.reason, decided_at=request.decided_at,
            decided_by=actors.to_json_or_none(request.decided_by)))
        return bool(done.rowcount)

    async def purge_closed(self, *, before: datetime) -> int:
        """Delete requests decided, or expired, before ``before``."""
        done = await self.conn.execute(table.delete().where(
            (table.c.decided_at < before) | (
                (table.c.state == str(RequestState.pending)) & (table.c.expires_at < before))))
        return int(done.rowcount or 0)
