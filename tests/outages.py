"""Outages produced for real, shared by the tests that need the database to go away: a TCP valve
between the app and PostgreSQL, SQL run as the superuser (ALTER DATABASE, terminate backends), and
the embedded store's file vanishing."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

CutOff = tuple[TestClient, Callable[[], None]]


class TcpValve:
    """A TCP forwarder to ``target`` that can be shut (every connection cut, new ones refused)
    and opened again on the same port: the database going away and coming back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.open()

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        self.thread.start()

    def _accept(self, listener: socket.socket) -> None:
        listener.settimeout(0.05)
        while not self.closing.is_set():
            try:
                downstream, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [downstream, upstream]
            for src, dst in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def shut(self) -> None:
        self.closing.set()
        self.thread.join(timeout=5)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()


async def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` outside a transaction (CREATE DATABASE, ALTER DATABASE …)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def remove_sqlite_file(path: Path) -> None:
    """The database's volume is gone: its files vanish and a directory stands in their place."""
    for suffix in ("", "-wal", "-shm"):
        moved = Path(f"{path}{suffix}")
        if moved.exists():
            shutil.move(moved, moved.with_name(moved.name + ".gone"))
    path.mkdir()
