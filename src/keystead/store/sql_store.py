"""What every SQL store shares: it works through the connection it is given, inside the
caller's transaction, and never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class SqlStore:
    """A store bound to one connection (and so to the transaction the caller opened on it)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
