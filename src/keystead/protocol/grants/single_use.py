"""What the code and refresh grants share: each trades an artifact bound to a user's grant
family for that user's tokens, in one transaction over the authorization store.

The rule both follow, and the reason ``refuse`` exists: a failed exchange raises *after* the
transaction, so the family revocation commits. A replayed artifact revokes its family inside the
transaction; raising there would roll the revocation back with the rest. Refusals that revoke
nothing (a wrong binding, a widened scope) raise inside it, so the artifact stays unused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, NoReturn, Protocol

from keystead.domain.authorizations import AuthorizationStore
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError
from keystead.protocol.grants.base import TokenRequest
from keystead.protocol.grants.reuse import ReusePolicy
from keystead.protocol.grants.user_tokens import Authorizations, Grant, UserTokens


class Replayed(Protocol):
    """An artifact presented again whose family was revoked for it."""

    @property
    def family_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SingleUseGrant:
    """Dependencies and steps of a grant that redeems a user's artifact (fields only; no hooks)."""

    artifact: ClassVar[str]  # how error text names it: "code", "refresh token"
    invalid: ClassVar[str]  # the one public description of an artifact that cannot be used
    reuse_action: ClassVar[str]  # the audit action of a replay
    authorizations: Authorizations
    user_tokens: UserTokens
    digester: Digester
    clock: Callable[[], datetime]
    reuse: ReusePolicy

    def digest(self, value: str) -> str:
        """Raises: InvalidGrantError: made under a key no longer in the server key ring."""
        digest = self.digester.grant(value)
        if digest is None:
            raise InvalidGrantError(self.invalid, detail=f"the {self.artifact} names a key no "
                                                         "longer in the server key ring")
        return digest

    async def user_grant(self, store: AuthorizationStore, *, user_id: str, family_id: str,
                         scope: tuple[str, ...], auth_time: datetime, amr: tuple[str, ...],
                         nonce: str | None = None) -> Grant:
        """What the user authorized, with the family's deadline, as the tokens must carry it.

        Raises:
            InvalidGrantError: the user or the family is gone.
        """
        person = await store.people.find(user_id)
        if person is None:
            raise InvalidGrantError(f"the {self.artifact}'s user no longer exists")
        deadline = await store.families.expires_at(family_id)
        if deadline is None:
            raise InvalidGrantError(f"the {self.artifact}'s authorization no longer exists")
        return Grant(person, scope, family_id, auth_time, amr, deadline, nonce)

    async def refuse(self, client: ClientRecord, request: TokenRequest, *,
                     replayed: Replayed | None, detail: str) -> NoReturn:
        """Refuse, once the transaction that revoked ``replayed``'s family has committed.

        Raises:
            InvalidGrantError: always; a replay is audited first.
        """
        if replayed is not None:
            await self.reuse.audit_replay(self.reuse_action, client, family_id=replayed.family_id,
                                          user_id=replayed.user_id, remote_ip=request.remote_ip)
        raise InvalidGrantError(self.invalid, detail=detail)
