"""Client and secret repositories (SQLAlchemy Core over the request's connection; never commit)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from keystead.domain.clients import (
    Client,
    ClientFilter,
    ClientSettings,
    ClientSort,
    ClientState,
    ClientType,
    Environment,
    GrantType,
    RoleDivision,
    SecretInfo,
    TokenEndpointAuthMethod,
    TokenFormat,
)
from keystead.domain.paging import Page
from keystead.store import actors
from keystead.store.rows import page_of
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, client_role_divisions, client_secrets, clients


def json_list_holds(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """SQL for "the JSON list in ``column`` holds ``value``", the same on SQLite and PostgreSQL.

    Both keep the list's JSON text as written, so the quoted element is matched exactly
    (``"oauth"`` never matches inside ``"oauth:readonly"``); LIKE wildcards are escaped.
    """
    return cast(column, Text).contains(json.dumps(value), autoescape=True)


def _row_values(client: Client) -> dict[str, Any]:
    s = client.settings
    return {
        "name": s.name, "description": s.description,
        "grant_types": [str(g) for g in s.grant_types], "scopes": list(s.scopes),
        "redirect_uris": list(s.redirect_uris), "token_ttl_seconds": s.token_ttl_seconds,
        "state": str(s.state), "date_to_delete": s.date_to_delete,
        "token_format": str(s.token_format), "require_pkce": s.require_pkce,
        "token_endpoint_auth_method": str(s.token_endpoint_auth_method),
        "owner_contact": s.owner_contact, "owner_id": s.owner_id, "tags": list(s.tags),
        "environment": None if s.environment is None else str(s.environment),
        "date_modified": client.date_modified,
        "modified_by": actors.to_json(client.modified_by),
    }


_TAG_TEXT = re.compile(r"[a-z0-9._:-]+")


def _text_matches(text: str) -> ColumnElement[bool]:
    """The name, the id or a tag contains ``text``, any case; LIKE wildcards match themselves.

    Tags are searched in the JSON text of the list only with tag characters, so a search for
    ``","`` or ``"`` never matches the JSON's own punctuation.
    """
    needle = text.lower()
    matches = [func.lower(clients.c.name).contains(needle, autoescape=True),
               clients.c.id.contains(needle, autoescape=True)]
    if _TAG_TEXT.fullmatch(needle):
        matches.append(cast(clients.c.tags, Text).contains(needle, autoescape=True))
    return or_(*matches)


# Never-used clients sort after used ones on both databases (their NULL ordering differs).
_ORDERS: dict[ClientSort, tuple[ColumnElement[Any], ...]] = {
    ClientSort.name: (clients.c.name,),
    ClientSort.created: (clients.c.date_created.desc(),),
    ClientSort.last_used: (clients.c.date_last_used.is_(None), clients.c.date_last_used.desc()),
}


class SqlClientStore(SqlStore):
    async def add(self, client: Client, *, secret_id: str | None,
                  secret_digest: str | None, key_id: str,
                  fingerprint: str | None) -> None:
        await self.conn.execute(insert(clients).values(
            id=client.id, organization_id=ORG_ID, date_created=client.date_created,
            created_by=actors.to_json(client.created_by),
            client_type=str(client.settings.client_type),
            **_row_values(client)))
        await self._write_roles(client)
        if secret_id is not None and secret_digest is not None:
            await self.conn.execute(insert(client_secrets).values(
                id=secret_id, client_id=client.id, digest=secret_digest, key_id=key_id,
                fingerprint=fingerprint, date_created=client.date_modified, current=True))

    async def replace(self, client: Client) -> None:
        await self.conn.execute(
            update(clients).where(clients.c.id == client.id).values(**_row_values(client)))
        await self.conn.execute(
            delete(client_role_divisions).where(client_role_divisions.c.client_id == client.id))
        await self._write_roles(client)

    async def _write_roles(self, client: Client) -> None:
        if client.settings.role_divisions:
            await self.conn.execute(insert(client_role_divisions), [
                {"client_id": client.id, "role_id": rd.role_id, "division_id": rd.division_id}
                for rd in client.settings.role_divisions])

    async def delete(self, client_id: str) -> None:
        await self.conn.execute(delete(clients).where(clients.c.id == client_id))

    async def find(self, client_id: str) -> Client | None:
        row = (await self.conn.execute(
            select(clients).where(clients.c.id == client_id))).mappings().first()
        if row is None:
            return None
        return (await self._hydrate([row]))[0]

    async def search(self, flt: ClientFilter, page: Page) -> tuple[Sequence[Client], int]:
        conditions = [clients.c.organization_id == ORG_ID]
        if flt.name:
            conditions.append(func.lower(clients.c.name).contains(flt.name.lower(),
                                                                  autoescape=True))
        if flt.state:
            conditions.append(clients.c.state == str(flt.state))
        if flt.grant_type:
            conditions.append(json_list_holds(clients.c.grant_types, str(flt.grant_type)))
        if flt.owner_id is not None:
            conditions.append(clients.c.owner_id == flt.owner_id)
        if flt.tag is not None:
            conditions.append(json_list_holds(clients.c.tags, flt.tag))
        if flt.environment is not None:
            conditions.append(clients.c.environment == str(flt.environment))
        if flt.text:
            conditions.append(_text_matches(flt.text))
        rows, total = await page_of(
            self.conn, clients, select(clients).order_by(*_ORDERS[flt.sort], clients.c.id),
            conditions, page)
        return await self._hydrate([r._mapping for r in rows]), total

    async def count_holding_scope(self, scope_id: str) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(clients).where(
            json_list_holds(clients.c.scopes, scope_id)))).scalar_one())

    async def due_for_deletion(self, now: datetime) -> Sequence[Client]:
        # SKIP LOCKED: replicas running housekeeping at once never delete (and audit) twice.
        rows = (await self.conn.execute(select(clients).where(
            clients.c.state == str(ClientState.inactive), clients.c.date_to_delete <= now,
        ).with_for_update(skip_locked=True))).mappings().all()
        return await self._hydrate(list(rows))

    async def _hydrate(self, rows: list[Any]) -> list[Client]:
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        roles: dict[str, list[RoleDivision]] = defaultdict(list)
        for r in await self.conn.execute(select(client_role_divisions).where(
                client_role_divisions.c.client_id.in_(ids)).order_by(
                client_role_divisions.c.role_id, client_role_divisions.c.division_id)):
            roles[r.client_id].append(RoleDivision(r.role_id, r.division_id))
        secrets: dict[str, list[SecretInfo]] = defaultdict(list)
        for s in await self.conn.execute(select(client_secrets).where(
                client_secrets.c.client_id.in_(ids)).order_by(
                client_secrets.c.date_created.desc())):
            secrets[s.client_id].append(SecretInfo(s.id, s.date_created, s.date_expires,
                                                   s.date_last_used, s.current, s.fingerprint))
        return [Client(
            id=r["id"],
            settings=ClientSettings(
                name=r["name"], description=r["description"],
                grant_types=tuple(GrantType(g) for g in r["grant_types"]),
                scopes=tuple(r["scopes"]), redirect_uris=tuple(r["redirect_uris"]),
                role_divisions=tuple(roles[r["id"]]), token_ttl_seconds=r["token_ttl_seconds"],
                state=ClientState(r["state"]), date_to_delete=r["date_to_delete"],
                token_format=TokenFormat(r["token_format"]), require_pkce=r["require_pkce"],
                client_type=ClientType(r["client_type"]),
                token_endpoint_auth_method=TokenEndpointAuthMethod(
                    r["token_endpoint_auth_method"]),
                owner_contact=r["owner_contact"], owner_id=r["owner_id"],
                tags=tuple(r["tags"]),
                environment=None if r["environment"] is None else Environment(r["environment"])),
            date_created=r["date_created"], date_modified=r["date_modified"],
            created_by=actors.from_json(r["created_by"]),
            modified_by=actors.from_json(r["modified_by"]),
            date_last_used=r["date_last_used"], secrets=tuple(secrets[r["id"]]),
        ) for r in rows]


class SqlSecretStore(SqlStore):
    async def rotate(self, client_id: str, *, secret_id: str, digest: str, now: datetime,
                     previous_expires: datetime | None, key_id: str,
                     fingerprint: str | None) -> None:
        # The secret being replaced keeps its window; any older one stops now: at most two work.
        await self.conn.execute(delete(client_secrets).where(
            client_secrets.c.client_id == client_id, client_secrets.c.current.is_(False)))
        await self.conn.execute(update(client_secrets).where(
            client_secrets.c.client_id == client_id, client_secrets.c.current.is_(True),
        ).values(current=False, date_expires=previous_expires))
        await self.conn.execute(insert(client_secrets).values(
            id=secret_id, client_id=client_id, digest=digest, key_id=key_id, date_created=now,
            fingerprint=fingerprint, current=True))

    async def start_window(self, client_id: str, *, expires: datetime) -> None:
        await self.conn.execute(update(client_secrets).where(
            client_secrets.c.client_id == client_id, client_secrets.c.current.is_(False),
            client_secrets.c.date_expires.is_(None)).values(date_expires=expires))

    async def restore_previous(self, client_id: str, *, staged_id: str) -> None:
        await self.conn.execute(delete(client_secrets).where(
            client_secrets.c.client_id == client_id, client_secrets.c.id == staged_id))
        await self.conn.execute(update(client_secrets).where(
            client_secrets.c.client_id == client_id, client_secrets.c.current.is_(False),
            client_secrets.c.date_expires.is_(None)).values(current=True))

    async def expire_previous(self, client_id: str, *, now: datetime) -> int:
        result = await self.conn.execute(update(client_secrets).where(and_(
            client_secrets.c.client_id == client_id, client_secrets.c.current.is_(False),
            client_secrets.c.date_expires > now)).values(date_expires=now))
        return result.rowcount
