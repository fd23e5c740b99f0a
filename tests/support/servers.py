"""Servers on loopback ports: the app behind a real uvicorn, and ports for other servers.

``reserved_port`` closes the race of "bind port 0, read it, close, hand the number on": between
the close and the server's own bind, any other process asking for a port could be given the same
one. The port is left in TIME_WAIT instead (the side that accepted closes first), so the kernel
gives it to no one for a minute, neither to a ``bind`` to port 0 nor as a ``connect``'s source
port; a server binding it by number with ``SO_REUSEADDR`` (uvicorn, HAProxy and pgbouncer all
set it) still can. This is Yelp's ephemeral-port-reserve.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from datetime import datetime

import uvicorn

from keystead.config import Settings
from keystead.web.app import create_app
from keystead.web.runtime import utc_now


def reserved_port() -> int:
    """A loopback port no other process is given for a minute, yet a server may bind."""
    with closing(socket.socket()) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = listener.getsockname()
        with closing(socket.create_connection(address)):
            accepted, _ = listener.accept()
            accepted.close()  # this side closes first: the port's end goes to TIME_WAIT
        return int(address[1])


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopped the moment ``stop()`` is called: its own main loop looks at
    ``should_exit`` every 0.1 s, and the suite stops some 300 servers. Ticks as uvicorn's does
    (``on_tick`` keeps the Date header and the exit checks), but waits on an event between them."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_asked = asyncio.Event()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop_asked.wait(), 0.1)

    def stop(self) -> None:
        """Ask the server to shut down (from any thread), as Ctrl+C does."""
        self.should_exit = True
        if self._loop is not None:
            with suppress(RuntimeError):  # the loop is closed: the server has already stopped
                self._loop.call_soon_threadsafe(self._stop_asked.set)


@contextmanager
def uvicorn_on(settings: Settings, port: int, *,
               clock: Callable[[], datetime] = utc_now) -> Iterator[None]:
    """The app behind a real uvicorn on a loopback port, in a thread, until the block ends."""
    config = uvicorn.Config(create_app(settings, clock=clock, housekeeping_interval=False),
                            host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = PromptServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.stop()
        thread.join(timeout=10)
