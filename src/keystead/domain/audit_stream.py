"""The audit log as a stream: each committed entry, oldest first, as one JSON line to a sink
(a file, or syslog over UDP) that a SIEM takes in.

A background task tails the audit table by sequence number, which every append passes through
(use cases and the token hot path alike), so the stream costs the request path nothing. The
cursor is stored per stream target and moves only after the sink took the lines: at least
once; a crash between the two sends a batch again, which a SIEM can tell by ``seq``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class Streamed:
    seq: int
    id: str
    event: AuditEvent
    hash: str


def audit_line(entry: Streamed) -> str:
    """One entry as compact JSON (no line breaks: one entry, one line). Never a secret: the
    audit holds none."""
    e = entry.event
    return json.dumps({
        "seq": entry.seq, "id": entry.id,
        "timestamp": e.timestamp.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": {"kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name},
        "action": e.action,
        "entity": {"type": e.entity_type, "id": e.entity_id, "name": e.entity_name},
        "result": str(e.result), "remoteIp": e.remote_ip, "details": e.details,
        "requestId": e.request_id, "actorDivisions": list(e.actor_divisions),
        "hash": entry.hash}, separators=(",", ":"), ensure_ascii=False, default=str)


class AuditTail(Protocol):
    async def cursor(self, target: str) -> int:
        """The last sequence number streamed to ``target`` (0: none yet)."""
    async def after(self, seq: int, *, limit: int) -> list[Streamed]:
        """Up to ``limit`` entries after ``seq``, oldest first."""
    async def advance(self, target: str, *, from_seq: int, to_seq: int) -> bool:
        """Move the cursor if it still stands at ``from_seq`` (False: another replica did)."""


class AuditSink(Protocol):
    async def write(self, entries: Sequence[Streamed], lines: Sequence[str]) -> None:
        """Take the lines, or raise OSError (the same lines are offered again later)."""


@dataclass(slots=True)
class AuditStreamer:
    target: str  # the sink's name (KEYSTEAD_AUDIT_STREAM), which keys the cursor
    tail: Callable[[], AbstractAsyncContextManager[AuditTail]]
    sink: AuditSink
    batch: int = 500

    async def stream(self) -> int:
        """Send the entries appended since the last round; return how many."""
        async with self.tail() as tail:
            seq = await tail.cursor(self.target)
            entries = await tail.after(seq, limit=self.batch)
        if not entries:
            return 0
        await self.sink.write(entries, [audit_line(e) for e in entries])
        async with self.tail() as tail:
            await tail.advance(self.target, from_seq=seq, to_seq=entries[-1].seq)
        return len(entries)
