"""Engines for both stores: SQLite (WAL, foreign keys, immediate transactions) and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# The drivers log statement parameters and result rows below WARNING, and those hold the digests
# of secrets and tokens: keep them quiet unless the operator configured them explicitly.
DRIVER_LOGGERS = ("sqlalchemy.engine", "aiosqlite")


def _quiet_driver_loggers() -> None:
    for name in DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database)


def _unique_statement_name() -> str:
    return f"__keystead_{uuid.uuid4().hex}__"


# Behind a pooler in transaction mode (pgbouncer's pool_mode=transaction) consecutive transactions
# of one client connection run on different server connections: asyncpg must not keep prepared
# statements between transactions, and their names must never collide on a server connection.
TRANSACTION_POOLER_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unique_statement_name,
}


# The hot store's connections carry this execution option: their writes drop what they change in
# the hot store's kept reads themselves, so ``on_write_done`` passes them over.
HOT_PATH_OPTION = "keystead_hot_path"
_WROTE = "keystead.wrote"
WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")  # WITH: a CTE may write; counted to be safe


def on_write_done(engine: AsyncEngine, callback: Callable[[], None]) -> None:
    """Call ``callback`` each time a connection that wrote is back in the pool: its transaction
    has committed (or rolled back) by then, so a read made after the call sees the change.

    This worker's kept hot-path reads are dropped this way the moment a change of its own
    commits, before the response leaves; other workers learn of it from the change feed.
    """
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _note_write(conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any,
                    _executemany: bool) -> None:
        if statement.startswith(WRITES) and not conn.get_execution_options().get(
                HOT_PATH_OPTION):
            conn.info[_WROTE] = True

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            callback()


def create_engine(url: str, *, busy_timeout_seconds: float = 5.0,
                  transaction_pooler: bool = False) -> AsyncEngine:
    """An async engine; on SQLite every transaction takes the write lock up front.

    SQLite's deferred transactions fail at once with "database is locked" when a reader upgrades to
    a writer under contention; ``BEGIN IMMEDIATE`` waits for the lock instead (busy timeout).
    ``transaction_pooler``: PostgreSQL is reached through pgbouncer (or another pooler) in
    transaction mode.
    """
    _quiet_driver_loggers()
    path = sqlite_path(url)
    # hide_parameters: database errors are logged with their statement, never with its values.
    if path is None:
        return create_async_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True,
            connect_args=TRANSACTION_POOLER_ARGS if transaction_pooler else {})
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_seconds},
                                 hide_parameters=True)

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
