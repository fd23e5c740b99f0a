"""Which database failures mean "cannot serve now" (answered 503 + Retry-After), not a bug.

A client told ``invalid_client`` or ``active: false`` throws good credentials away; one told 503
retries. So everything that a restart, a failover, an overload or an operator's intervention
looks like from the application becomes ``StoreUnavailableError``:

- no transaction could be opened at all (connect, authenticate or BEGIN failed: refused
  connections, "the database system is starting up", "not currently accepting connections",
  too many connections), whatever the error class;
- a connection lost or invalidated mid-transaction;
- inside a transaction, these SQLSTATE classes: 08 connection exception, 53 insufficient
  resources, 57 operator intervention (admin or crash shutdown, cannot connect now, statement
  cancelled), 40001 serialization failure and 40P01 deadlock (the client's retry is the retry);
- the pool gave no connection in time, or the driver timed out; SQLite's "database is locked"
  after its busy timeout (an ``OperationalError``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.domain.errors import StoreUnavailableError

UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError, OSError, asyncio.TimeoutError)
RETRYABLE_SQLSTATE_CLASSES = ("08", "53", "57")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def sqlstate_of(exc: DBAPIError) -> str:
    """The driver's SQLSTATE ('' when it gives none, as SQLite does)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else ""


def is_unavailable(exc: BaseException, *, opened: bool) -> bool:
    """Whether ``exc`` means the store cannot serve now (see the module docstring)."""
    if isinstance(exc, UNREACHABLE):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if not opened or exc.connection_invalidated:
        return True
    state = sqlstate_of(exc)
    return state in RETRYABLE_SQLSTATES or state[:2] in RETRYABLE_SQLSTATE_CLASSES


@asynccontextmanager
async def reachable(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction; a failure that means "cannot serve now" becomes StoreUnavailableError."""
    opened = False
    try:
        async with engine.begin() as conn:
            opened = True
            yield conn
    except (DBAPIError, *UNREACHABLE) as exc:
        if is_unavailable(exc, opened=opened):
            raise StoreUnavailableError(type(exc).__name__) from exc
        raise
