"""Where the audit stream goes: JSON lines appended to a file, or RFC 5424 syslog over UDP.

Syslog is framed here rather than through ``logging.handlers.SysLogHandler``: that handler
writes the old BSD form (``<PRI>`` then the text, no version, timestamp or host fields) and
swallows send errors, while the stream must send RFC 5424 and move its cursor only after a
send went out.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keystead.domain.audit_stream import Streamed

# RFC 5424 §6.2.1: facility 13 (log audit), severity 6 (informational).
PRI = 13 * 8 + 6
APP_NAME = "keystead"
MSG_ID = "audit"


@dataclass(frozen=True, slots=True)
class FileSink:
    path: Path

    async def write(self, entries: Sequence[Streamed], lines: Sequence[str]) -> None:
        del entries
        await asyncio.to_thread(self._append, "".join(f"{line}\n" for line in lines))

    def _append(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())  # the cursor moves next: the lines must be on disk first


def rfc5424(entry: Streamed, line: str, *, hostname: str) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (RFC 5424 §6), the entry's
    own time as TIMESTAMP, no structured data, the JSON line as MSG."""
    stamp = entry.event.timestamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return (f"<{PRI}>1 {stamp} {hostname or '-'} {APP_NAME} {os.getpid()} {MSG_ID} - "
            f"{line}").encode()


@dataclass(frozen=True, slots=True)
class SyslogUdpSink:
    host: str
    port: int
    hostname: str = ""  # RFC 5424 HOSTNAME; the machine's name by default

    async def write(self, entries: Sequence[Streamed], lines: Sequence[str]) -> None:
        hostname = (self.hostname or socket.gethostname())[:255]
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            for entry, line in zip(entries, lines, strict=True):
                sock.sendto(rfc5424(entry, line, hostname=hostname), (self.host, self.port))
