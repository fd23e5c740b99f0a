"""E-mail over SMTP: the outbox's ``email`` channel (stdlib smtplib, run in a thread)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from keystead.domain.audit import JSONValue
from keystead.domain.outbox import DeliveryError


@dataclass(frozen=True, slots=True)
class SmtpChannel:
    """Send ``{to, subject, body}`` from ``sender`` through one SMTP server.

    ``starttls``: upgrade the connection before anything else (and before the password).
    """

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout_seconds: float = 10.0

    async def deliver(self, payload: Mapping[str, JSONValue]) -> None:
        """Raises: DeliveryError when the server is unreachable or refuses the message."""
        try:
            message = EmailMessage()
            message["From"] = self.sender
            message["To"] = str(payload["to"])
            # One line: a name with a line break must not end the header (nor fail forever).
            message["Subject"] = " ".join(str(payload["subject"]).split())
            message.set_content(str(payload["body"]))
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
