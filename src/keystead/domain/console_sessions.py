"""A console sign-in session as stored, and the port that keeps it (the web layer's sessions
module decides when to start, touch and end one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SessionRow:
    digest: str
    user_id: str
    stage: str
    amr: list[str]
    data: dict[str, str]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class SessionStore(Protocol):
    async def add(self, row: SessionRow) -> None: ...

    async def find(self, digest: str) -> SessionRow | None: ...

    async def touch(self, digest: str, *, now: datetime,
                    data: dict[str, str] | None = None) -> None: ...

    async def delete(self, digest: str) -> None: ...
