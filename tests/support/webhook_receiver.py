"""A real webhook receiver: an HTTP server in a thread that verifies every request's Standard
Webhooks signature with the ``standardwebhooks`` library, and can be told to fail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    raw: bytes


@dataclass
class Receiver:
    port: int
    secret: str = ""  # set once the endpoint is created
    failing: bool = False  # answer 503 (and keep nothing) while set
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0  # requests answered with an error (failing, or a bad signature)
    bad_signatures: int = 0
    # The n-th request accepted (1-based; 0: none) is held unanswered until ``release`` is
    # set (at most 30 s), so a test can kill the sender mid-delivery.
    hold: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, bool]:
        """The status to answer, and whether to hold the answer back first."""
        with self.lock:
            if self.failing:
                self.refused += 1
                return 503, False
            try:
                body = Webhook(self.secret).verify(raw, headers)
            except Exception:  # noqa: BLE001 - any verification failure is a refusal
                self.bad_signatures += 1
                self.refused += 1
                return 401, False
            # Kept on receipt, before the answer: a sender killed while it waits has delivered
            # (the receiver has it) without knowing, and sends it again: at least once.
            self.accepted.append(Received(headers["webhook-id"], body, raw))
            return 204, len(self.accepted) == self.hold

    def types_for(self, client_id: str) -> list[str]:
        with self.lock:
            return [r.body["type"] for r in self.accepted
                    if r.body["data"].get("clientId") == client_id]


@contextmanager
def webhook_receiver(port: int) -> Iterator[Receiver]:
    receiver = Receiver(port)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, hold = receiver.handle({k.lower(): v for k, v in self.headers.items()}, raw)
            if hold:
                receiver.release.wait(timeout=30)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender went away (killed) before the answer

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

