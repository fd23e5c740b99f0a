"""What the SAML2 bearer grant reads and writes, over one transaction (Core; never commits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.domain.authorizations import Person
from keystead.domain.identity_providers import NameIdFormat
from keystead.protocol.saml2_bearer import SamlBearerVerifier
from keystead.store.authorizations import SqlAuthorizationStore
from keystead.store.availability import reachable
from keystead.store.identity_providers import SqlAssertionLedger, SqlIdentityProviderStore
from keystead.store.tables import ORG_ID, users


class SqlPeopleByNameId:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def person_named(self, name_id: str, name_id_format: str | None) -> Person | None:
        """A persistent NameID is the user's external id; any other is their e-mail. One rule
        per format, so a NameID never matches one user's e-mail and another's external id."""
        condition = (users.c.external_id == name_id
                     if name_id_format == NameIdFormat.persistent
                     else users.c.email == name_id.strip().lower())
        row = (await self.conn.execute(select(users.c.id, users.c.email, users.c.name,
                                              users.c.state).where(
            users.c.organization_id == ORG_ID, condition))).first()
        return Person(row.id, row.email, row.name, row.state) if row else None


@dataclass(frozen=True, slots=True)
class SqlSamlExchange:
    verifier: SamlBearerVerifier
    authorizations: SqlAuthorizationStore
    people: SqlPeopleByNameId


Exchanges = Callable[[], AbstractAsyncContextManager[SqlSamlExchange]]


def saml_exchanges(engine: AsyncEngine, *, clock: Callable[[], datetime],
                   token_endpoint: str) -> Exchanges:
    """The grant opens one of these per token request."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlSamlExchange]:
        async with reachable(engine) as conn:
            yield SqlSamlExchange(
                SamlBearerVerifier(SqlIdentityProviderStore(conn), SqlAssertionLedger(conn),
                                   clock, token_endpoint),
                SqlAuthorizationStore(conn), SqlPeopleByNameId(conn))

    return transaction
