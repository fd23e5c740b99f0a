"""What the SAML2 bearer grant reads and writes, over one transaction (Core; never commits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.domain.authorizations import Person
from keystead.protocol.grants.saml2_bearer import AssertedPerson
from keystead.protocol.saml2_bearer import SamlBearerVerifier
from keystead.store.authorizations import SqlAuthorizationStore
from keystead.store.availability import reachable
from keystead.store.identity_providers import SqlAssertionLedger, SqlIdentityProviderStore
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, roles, user_grants, user_identity_links, users


class SqlLinkedPeople(SqlStore):
    async def person_linked(self, provider_id: str, name_id: str) -> AssertedPerson | None:
        """The user linked to ``provider_id`` as ``name_id`` (primary key lookup), and whether
        any of their roles holds a permission."""
        row = (await self.conn.execute(
            select(users.c.id, users.c.email, users.c.name, users.c.state)
            .join(user_identity_links, user_identity_links.c.user_id == users.c.id)
            .where(user_identity_links.c.identity_provider_id == provider_id,
                   user_identity_links.c.name_id == name_id,
                   users.c.organization_id == ORG_ID))).first()
        if row is None:
            return None
        held = await self.conn.execute(
            select(roles.c.permissions).join(user_grants, user_grants.c.role_id == roles.c.id)
            .where(user_grants.c.user_id == row.id))
        return AssertedPerson(Person(row.id, row.email, row.name, row.state),
                              holds_permissions=any(r.permissions for r in held))


@dataclass(frozen=True, slots=True)
class SqlSamlExchange:
    verifier: SamlBearerVerifier
    authorizations: SqlAuthorizationStore
    people: SqlLinkedPeople


Exchanges = Callable[[], AbstractAsyncContextManager[SqlSamlExchange]]


def saml_exchanges(engine: AsyncEngine, *, clock: Callable[[], datetime],
                   token_endpoint: str, max_lifetime: timedelta) -> Exchanges:
    """The grant opens one of these per token request."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlSamlExchange]:
        async with reachable(engine) as conn:
            yield SqlSamlExchange(
                SamlBearerVerifier(SqlIdentityProviderStore(conn), SqlAssertionLedger(conn),
                                   clock, token_endpoint, max_lifetime),
                SqlAuthorizationStore(conn), SqlLinkedPeople(conn))

    return transaction
