"""Follow PostgreSQL's change notifications, and prove at every moment how current they are.

Triggers (migration 0011) send a notification on ``keystead_changes`` in the transaction of
every change a worker may keep a read of; PostgreSQL delivers notifications in commit order,
exactly when the transaction commits. This feed listens on its own connection and hands each
payload to ``on_change``.

Being connected does not prove being current: the connection may hang, or this worker may lag
behind its socket. So the feed also sends itself a *ping* on a channel of its own every
``heartbeat`` seconds. When a ping comes back, every change committed before it was sent has
been handed over (commit order). Kept reads may be served only while ``current``: the newest
ping that came back was sent less than ``max_lag`` seconds ago. That bounds how stale a kept
read can ever be, whatever the network or the load; when the feed is behind or disconnected the
hot store reads the database. A lost connection also calls ``on_reset`` (notifications may have
been missed), and the feed reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import make_url

CHANNEL = "keystead_changes"
MAX_RECONNECT_DELAY_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
PENDING_PINGS_LIMIT = 1_000
APPLICATION_NAME = "keystead-change-feed"  # what pg_stat_activity shows
FEED_FAILURES = (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                 asyncpg.InternalClientError)

log = logging.getLogger("keystead.change_feed")


def listen_dsn(database_url: str) -> str:
    """The libpq-style URL asyncpg takes, from SQLAlchemy's ``postgresql+asyncpg://…``."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class ChangeFeed:
    def __init__(self, dsn: str, *, on_change: Callable[[str], None],
                 on_reset: Callable[[], None], heartbeat: float, max_lag: float) -> None:
        self.dsn = dsn
        self.on_change = on_change
        self.on_reset = on_reset
        self.heartbeat = heartbeat
        self.max_lag = max_lag
        self._ping_channel = f"keystead_ping_{secrets.token_hex(8)}"
        self._sent: dict[int, float] = {}  # ping number -> monotonic time it was sent
        self._seq = 0
        self._proven_at = float("-inf")  # when the newest ping that came back was sent
        self._connected = False
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> bool:
        """Whether every change committed more than ``max_lag`` seconds ago has been handed
        to ``on_change``."""
        return self._connected and time.monotonic() - self._proven_at < self.max_lag

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="keystead.change-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self.heartbeat
        while True:
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=CONNECT_TIMEOUT_SECONDS,
                    server_settings={"application_name": APPLICATION_NAME})
            except FEED_FAILURES as exc:
                log.warning("change feed cannot connect (%s); reading the database until it "
                            "can, next try in %.1f s", type(exc).__name__, delay)
            else:
                try:
                    await self._follow(conn)
                except FEED_FAILURES as exc:
                    log.warning("change feed lost (%s); reading the database until it is "
                                "back", type(exc).__name__)
                    delay = self.heartbeat  # it worked until now: retry soon
                finally:
                    self._lost()
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_DELAY_SECONDS)

    async def _follow(self, conn: asyncpg.Connection) -> None:
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn: closed.set())
        # A ping is a transaction of its own: it need not wait for the WAL to reach the disk.
        await conn.execute("SET synchronous_commit TO off")
        await conn.add_listener(CHANNEL, self._changed)
        await conn.add_listener(self._ping_channel, self._pong)
        # Whatever was kept before this connection listened may have missed a change.
        self.on_reset()
        self._connected = True
        while not closed.is_set():
            self._seq += 1
            self._sent[self._seq] = time.monotonic()
            if len(self._sent) > PENDING_PINGS_LIMIT:
                self._sent.clear()
            # A hung connection must not hold the feed: the timeout reconnects.
            await conn.execute(f"NOTIFY {self._ping_channel}, '{self._seq}'",
                               timeout=max(1.0, 10 * self.heartbeat))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(closed.wait(), self.heartbeat)
        raise asyncpg.InterfaceError("the listening connection was closed")

    def _lost(self) -> None:
        self._connected = False
        self._sent.clear()
        self._proven_at = float("-inf")
        self.on_reset()

    def _changed(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.on_change(payload)

    def _pong(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        seq = int(payload)
        sent = self._sent.get(seq)
        if sent is None:
            return
        for older in [n for n in self._sent if n <= seq]:
            del self._sent[older]
        self._proven_at = max(self._proven_at, sent)
