"""Trusted identity providers, the users linked to them, and the ledger of redeemed SAML
assertions (Core SQL; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keystead.domain.identity_links import IdentityLink
from keystead.domain.identity_providers import (
    IdentityProvider,
    IdentityProviderSettings,
    NameIdFormat,
)
from keystead.domain.paging import Page
from keystead.store.rows import page_of
from keystead.store.sql_store import SqlStore
from keystead.store.tables import (
    ORG_ID,
    identity_providers,
    saml_assertions,
    user_identity_links,
)


def _provider(row: Any) -> IdentityProvider:
    return IdentityProvider(
        id=row.id,
        settings=IdentityProviderSettings(
            name=row.name, issuer_uri=row.issuer_uri, certificates=tuple(row.certificates),
            relying_party_identifier=row.relying_party_identifier,
            name_identifier_format=NameIdFormat(row.name_identifier_format),
            disabled=row.disabled, vouches_for_mfa=row.vouches_for_mfa,
            mfa_authn_context_classes=tuple(row.mfa_authn_context_classes)),
        date_created=row.date_created, date_modified=row.date_modified)


def _values(settings: IdentityProviderSettings) -> dict[str, Any]:
    return {"name": settings.name, "issuer_uri": settings.issuer_uri,
            "certificates": list(settings.certificates),
            "relying_party_identifier": settings.relying_party_identifier,
            "name_identifier_format": str(settings.name_identifier_format),
            "disabled": settings.disabled, "vouches_for_mfa": settings.vouches_for_mfa,
            "mfa_authn_context_classes": list(settings.mfa_authn_context_classes)}


class SqlIdentityProviderStore(SqlStore):
    """The IdentityProviderStore port, for the organisation."""

    async def add(self, provider: IdentityProvider) -> None:
        await self.conn.execute(insert(identity_providers).values(
            id=provider.id, organization_id=ORG_ID, date_created=provider.date_created,
            date_modified=provider.date_modified, **_values(provider.settings)))

    async def find(self, provider_id: str) -> IdentityProvider | None:
        row = (await self.conn.execute(select(identity_providers).where(
            identity_providers.c.organization_id == ORG_ID,
            identity_providers.c.id == provider_id))).first()
        return _provider(row) if row else None

    async def by_issuer(self, issuer_uri: str) -> IdentityProvider | None:
        row = (await self.conn.execute(select(identity_providers).where(
            identity_providers.c.organization_id == ORG_ID,
            identity_providers.c.issuer_uri == issuer_uri))).first()
        return _provider(row) if row else None

    async def list(self, page: Page) -> tuple[Sequence[IdentityProvider], int]:
        rows, total = await page_of(
            self.conn, identity_providers, select(identity_providers).order_by(
                identity_providers.c.date_created, identity_providers.c.id),
            [identity_providers.c.organization_id == ORG_ID], page)
        return [_provider(r) for r in rows], total

    async def replace(self, provider: IdentityProvider) -> None:
        await self.conn.execute(update(identity_providers).where(
            identity_providers.c.id == provider.id).values(
            date_modified=provider.date_modified, **_values(provider.settings)))

    async def delete(self, provider_id: str) -> None:
        await self.conn.execute(delete(identity_providers).where(
            identity_providers.c.id == provider_id))


def _link(row: Any) -> IdentityLink:
    return IdentityLink(row.user_id, row.identity_provider_id, row.name_id, row.date_created)


class SqlIdentityLinkStore(SqlStore):
    """The IdentityLinkStore port: (provider, NameID) -> user."""

    async def links_of(self, user_id: str) -> list[IdentityLink]:
        rows = await self.conn.execute(select(user_identity_links).where(
            user_identity_links.c.user_id == user_id).order_by(
            user_identity_links.c.date_created, user_identity_links.c.identity_provider_id))
        return [_link(r) for r in rows]

    async def holder(self, provider_id: str, name_id: str) -> IdentityLink | None:
        row = (await self.conn.execute(select(user_identity_links).where(
            user_identity_links.c.identity_provider_id == provider_id,
            user_identity_links.c.name_id == name_id))).first()
        return _link(row) if row else None

    async def put(self, link: IdentityLink) -> None:
        await self.remove(link.user_id, link.provider_id)
        await self.conn.execute(insert(user_identity_links).values(
            identity_provider_id=link.provider_id, name_id=link.name_id, user_id=link.user_id,
            date_created=link.date_created))

    async def remove(self, user_id: str, provider_id: str) -> bool:
        result = await self.conn.execute(delete(user_identity_links).where(
            user_identity_links.c.user_id == user_id,
            user_identity_links.c.identity_provider_id == provider_id))
        return result.rowcount > 0


class SqlAssertionLedger(SqlStore):
    """The AssertionLedger port: each assertion's digest is recorded once, until it expires."""

    async def first_use(self, digest: str, *, expires_at: datetime) -> bool:
        # The database decides a race between two replicas: exactly one insert lands.
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        result = await self.conn.execute(
            dialect_insert(saml_assertions).values(digest=digest, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[saml_assertions.c.digest]))
        return result.rowcount == 1

    async def purge_expired(self, now: datetime) -> int:
        """Forget assertions that expired before ``now`` (they fail their time checks anyway)."""
        result = await self.conn.execute(delete(saml_assertions).where(
            saml_assertions.c.expires_at < now))
        return result.rowcount
