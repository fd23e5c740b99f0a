"""The applications a person has authorized (their consents), seen and taken back by that person
alone: the API's /api/v2/oauth/authorizations and the console's "Connected apps".

Every read is keyed by the caller's own user id, so another person's authorizations are never
visible nor revocable. Revoking forgets the consent (the app must ask again) and revokes every
grant family of the pair, which stops each of its access and refresh tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.authorizations import Authorization, RegisteredClient
from keystead.domain.client_catalogue import ScopeList
from keystead.domain.clock import Clock
from keystead.domain.errors import NotFoundError, require_found
from keystead.domain.principal import Caller

NOT_AUTHORIZED = "you have not authorized this client"


class AuthorizedApps(Protocol):
    async def authorizations(self, user_id: str) -> list[Authorization]: ...
    async def authorization(self, user_id: str, client_id: str) -> Authorization | None: ...
    async def registered_client(self, client_id: str) -> RegisteredClient | None: ...
    async def revoke_client(self, user_id: str, client_id: str, *, now: datetime) -> bool:
        """Forget the consent and revoke every family of the pair; False if there was none."""


@dataclass(frozen=True, slots=True)
class ConnectedApps:
    store: AuthorizedApps
    scopes: ScopeList
    auditor: Auditor
    clock: Clock

    async def list(self, person: Caller) -> list[Authorization]:
        return await self.store.authorizations(person.actor.id)

    async def scope_descriptions(self) -> dict[str, str]:
        """What each of the organisation's scopes means, for a person reading their consents
        (nothing secret: the consent page shows the same)."""
        return {s.id: s.description for s in await self.scopes.list()}

    async def find(self, person: Caller, client_id: str) -> Authorization:
        """Raises NotFoundError: the person has not authorized that client."""
        return require_found(await self.store.authorization(person.actor.id, client_id),
                             NOT_AUTHORIZED)

    async def revoke(self, person: Caller, client_id: str) -> str:
        """Take back what ``person`` allowed ``client_id``, audited; returns the client's name.

        Raises:
            NotFoundError: the person has not authorized that client (or revoked it already).
        """
        user_id = person.actor.id
        found = await self.store.authorization(user_id, client_id)
        if not await self.store.revoke_client(user_id, client_id, now=self.clock()):
            raise NotFoundError(NOT_AUTHORIZED)
        details: dict[str, JSONValue] = {}
        if found is not None:
            name = found.client_name
            details["scopes"] = list(found.scopes)
        else:  # live tokens without a consent: revoked all the same
            client = await self.store.registered_client(client_id)
            name = client.name if client else ""
        await self.auditor.record(person, "authorization.revoke",
                                  Entity("OAuthClient", client_id, name), details)
        return name
