"""A single-use artifact (code, rotated refresh token) presented again by its own client.

RFC 9700 §4.14.2 and OAuth 2.1 §4.1.3, §7.5.2: a second use by the client the artifact was
issued to, with valid parameters, means a copy is loose; the grant family is revoked and the
event audited. Only such a use counts: one by another client, or with a wrong verifier or
redirect URI, is plain ``invalid_grant`` and revokes nothing, or anyone who saw a used code
could end the user's grant.

Two requests racing the same artifact are not a copy being replayed: the second one, arriving
within ``grace`` of the first use, is refused without revoking (the winner keeps its tokens).
Its response is not recovered: handing the rotated refresh token out again would give it to
whoever holds a copy, and a public client's id proves nothing about who sends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.tokens import ClientRecord


@dataclass(frozen=True, slots=True)
class ReusePolicy:
    grace: timedelta  # zero: every second use is a replay
    record: Callable[[AuditEvent], Awaitable[None]]
    clock: Callable[[], datetime]

    def is_racing_duplicate(self, first_used_at: datetime) -> bool:
        """True within the grace after the first use: refuse, revoke nothing."""
        return self.clock() - first_used_at < self.grace

    async def audit_replay(self, action: str, client: ClientRecord, *, family_id: str,
                           user_id: str, remote_ip: str) -> None:
        """Record that ``family_id`` was revoked for a replay; never the artifact or its digest."""
        await self.record(AuditEvent(
            timestamp=self.clock(), actor_kind="client", actor_id=client.id,
            actor_name=client.name, action=action, entity_type="OAuthClient",
            entity_id=client.id, entity_name=client.name, result=Result.failure,
            remote_ip=remote_ip,
            details={"familyId": family_id, "userId": user_id, "familyRevoked": True}))
