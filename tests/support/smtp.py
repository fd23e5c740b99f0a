"""A real SMTP server on a loopback port (aiosmtpd), keeping every message it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.clock import ManualClock


@dataclass
class Mailbox:
    """What the server received: each message with its envelope recipients."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [message for rcpts, message in self.messages if address in rcpts]


@contextmanager
def smtp_server(port: int, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1:``port`` until the block ends (no TLS: tests set STARTTLS off)."""
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def mailing_app(settings: Settings, clock: ManualClock, port: int) -> Iterator[TestClient]:
    """The app on ``clock``, e-mailing through 127.0.0.1:``port`` (no STARTTLS)."""
    mailed = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                         "smtp_starttls": False, "smtp_timeout_seconds": 2.0,
                                         "smtp_from": "keystead@example.com"})
    app = create_app(mailed, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client
