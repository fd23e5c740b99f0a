"""Engines for both stores: SQLite (WAL, foreign keys, immediate transactions) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database)


def create_engine(url: str, *, busy_timeout_seconds: float = 5.0) -> AsyncEngine:
    """An async engine; on SQLite every transaction takes the write lock up front.

    SQLite's deferred transactions fail at once with "database is locked" when a reader upgrades to
    a writer under contention; ``BEGIN IMMEDIATE`` waits for the lock instead (busy timeout).
    """
    path = sqlite_path(url)
    if path is None:
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_seconds})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
