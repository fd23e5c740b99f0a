"""What readiness and a metrics scrape ask the database: one small read each, on a connection of
their own (a fresh one per probe), so that a full or broken request pool cannot hide an outage
and a probe that times out leaves nothing half-open behind."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from keystead.domain.errors import StoreUnavailableError
from keystead.store.availability import reachable
from keystead.store.database import sqlite_path
from keystead.store.tables import ORG_ID, audit_head, client_secrets, clients

REVISION_QUERY = "SELECT version_num FROM alembic_version"
# The two functions at the end of this module, for the stdlib driver (which never writes).
SQLITE_FIGURES = """
SELECT (SELECT count(*) FROM clients c JOIN client_secrets s ON s.client_id = c.id
         WHERE c.organization_id = ? AND s."current" AND s.date_created < ?),
       (SELECT coalesce(max(seq), 0) FROM audit_head WHERE organization_id = ?)
"""


class DatabaseProbe:
    """Reads the schema revision (the probe's "real query") and the scrape's figures.

    Every call may take up to ``timeout`` seconds to connect and as long again to answer; callers
    put their own deadline around it as well.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self.timeout = timeout
        self.path: Path | None = sqlite_path(url)
        self.engine: AsyncEngine | None = None
        if self.path is None:
            self.engine = create_async_engine(
                url, poolclass=NullPool, hide_parameters=True,
                connect_args={"timeout": timeout, "command_timeout": timeout})

    async def revision(self) -> str | None:
        """The schema's Alembic revision; None when the database has none.

        Raises:
            StoreUnavailableError: the database did not answer.
        """
        if self.engine is None:
            return await asyncio.to_thread(self._sqlite_revision)
        async with reachable(self.engine) as conn:
            return (await conn.execute(text(REVISION_QUERY))).scalar_one_or_none()

    def _sqlite_revision(self) -> str | None:
        # Read-only and never created: a vanished file is an outage, not a new empty database.
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=self.timeout)
            try:
                row = db.execute(REVISION_QUERY).fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return str(row[0]) if row else None

    async def figures(self, *, created_before: datetime) -> tuple[int, int]:
        """Secrets past rotation age and audit events appended (see the functions below).

        Raises:
            StoreUnavailableError: the database did not answer.
        """
        if self.engine is None:
            return await asyncio.to_thread(self._sqlite_figures, created_before)
        async with reachable(self.engine) as conn:
            return (await secrets_past_rotation(conn, created_before=created_before),
                    await audit_events_appended(conn))

    def _sqlite_figures(self, created_before: datetime) -> tuple[int, int]:
        before = created_before.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=self.timeout)
            try:
                stale, appended = db.execute(SQLITE_FIGURES, (ORG_ID, before, ORG_ID)).fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return int(stale), int(appended)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


async def secrets_past_rotation(conn: AsyncConnection, *, created_before: datetime) -> int:
    """Current secrets created before ``created_before`` (as the dashboard counts them)."""
    return int((await conn.execute(
        select(func.count()).select_from(
            clients.join(client_secrets, client_secrets.c.client_id == clients.c.id))
        .where(clients.c.organization_id == ORG_ID, client_secrets.c.current.is_(True),
               client_secrets.c.date_created < created_before))).scalar_one())


async def audit_events_appended(conn: AsyncConnection) -> int:
    """How many audit events were ever appended: the chain's head sequence number."""
    return int((await conn.execute(select(func.coalesce(func.max(audit_head.c.seq), 0)).where(
        audit_head.c.organization_id == ORG_ID))).scalar_one())
