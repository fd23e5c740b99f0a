"""Outages produced for real, shared by the tests that need the database to go away: a TCP valve
between the app and PostgreSQL, SQL run as the superuser (ALTER DATABASE, terminate backends), a
PostgreSQL cluster of the test's own that it stops, starts and restarts, and the embedded store's
file vanishing."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

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


class PostgresCluster:
    """A throw-away PostgreSQL cluster (``initdb``) on a loopback port, driven with ``pg_ctl``.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` user and
    every command runs as that user (``runuser``), so ``directory`` must be one it can enter.
    """

    def __init__(self, directory: Path, *, initdb: str, pg_ctl: str, port: int) -> None:
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.pg_ctl = pg_ctl
        self.port = port
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(directory, "postgres", "postgres")
        # No fsync: the test owns the cluster and never needs it to survive a power cut.
        self._run(initdb, "--pgdata", str(self.data), "--username", "postgres", "--auth", "trust",
                  "--encoding", "UTF8", "--no-sync")
        self.options = (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                        "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=40")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_owner, *command], capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stderr}{done.stdout}\n{log}")

    def _ctl(self, action: str, *args: str) -> list[str]:
        command = [self.pg_ctl, action, "--pgdata", str(self.data), "--wait", *args]
        if action != "stop":
            command += ["--log", str(self.log), "-o", self.options]
        return command

    def start(self) -> None:
        self._run(*self._ctl("start"))

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, then the server exits (as a restart does)."""
        self._run(*self._ctl("stop", "--mode", "fast"))

    def restart(self) -> subprocess.Popen[bytes]:
        """Begin a fast restart in the background (the caller goes on making requests);
        the process ends once the server is up again."""
        return subprocess.Popen([*self.as_owner, *self._ctl("restart", "--mode", "fast")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def destroy(self) -> None:
        subprocess.run([*self.as_owner, self.pg_ctl, "stop", "--pgdata", str(self.data),
                        "--mode", "immediate"], capture_output=True, timeout=60, check=False)


def remove_sqlite_file(path: Path) -> None:
    """The database's volume is gone: its files vanish and a directory stands in their place."""
    for suffix in ("", "-wal", "-shm"):
        moved = Path(f"{path}{suffix}")
        if moved.exists():
            shutil.move(moved, moved.with_name(moved.name + ".gone"))
    path.mkdir()
