"""Built-ins every organisation starts with; seeding is idempotent (``keystead init`` reruns it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.audit import GENESIS_HASH
from keystead.domain.permissions import BUILTIN_ROLES
from keystead.domain.scopes import BUILTIN_SCOPES
from keystead.domain.tokens import SigningKeyMaterial
from keystead.store.tables import (
    ORG_ID,
    audit_head,
    divisions,
    organizations,
    roles,
    scopes,
    signing_keys,
)

HOME_DIVISION = "Home"


async def seed(conn: AsyncConnection, *, now: datetime,
               make_key: Callable[[], SigningKeyMaterial]) -> list[str]:
    """Insert whatever built-in is missing; return what was added."""
    added: list[str] = []
    if (await conn.execute(select(organizations.c.id).where(organizations.c.id == ORG_ID))
            ).first() is None:
        await conn.execute(insert(organizations).values(id=ORG_ID, name="Keystead"))
        await conn.execute(insert(audit_head).values(organization_id=ORG_ID, seq=0,
                                                     last_hash=GENESIS_HASH))
        added.append("organization")
    if (await conn.execute(select(divisions.c.id).where(divisions.c.home.is_(True)))
            ).first() is None:
        await conn.execute(insert(divisions).values(
            id=str(uuid.uuid4()), organization_id=ORG_ID, name=HOME_DIVISION,
            description="The default division", home=True, date_created=now))
        added.append("division:Home")
    existing_roles = {r.name: r for r in await conn.execute(
        select(roles.c.name, roles.c.builtin, roles.c.permissions, roles.c.description))}
    for name, (description, permissions) in BUILTIN_ROLES.items():
        role = existing_roles.get(name)
        if role is not None and role.builtin and (
                list(role.permissions) != list(permissions) or role.description != description):
            # Built-in roles cannot be edited, so a release that adds permissions (governance
            # in 0012) brings them up to date here.
            await conn.execute(update(roles).where(roles.c.name == name, roles.c.builtin).values(
                permissions=list(permissions), description=description, date_modified=now))
            added.append(f"role:{name} (updated)")
        elif role is None:
            await conn.execute(insert(roles).values(
                id=str(uuid.uuid4()), organization_id=ORG_ID, name=name,
                description=description, permissions=list(permissions), builtin=True,
                date_created=now, date_modified=now))
            added.append(f"role:{name}")
    existing_scopes = {r.id for r in await conn.execute(select(scopes.c.id))}
    for scope_id, description in BUILTIN_SCOPES.items():
        if scope_id not in existing_scopes:
            await conn.execute(insert(scopes).values(
                organization_id=ORG_ID, id=scope_id, description=description, builtin=True))
            added.append(f"scope:{scope_id}")
    if (await conn.execute(select(signing_keys.c.kid).where(signing_keys.c.active.is_(True)))
            ).first() is None:
        key = make_key()
        await conn.execute(insert(signing_keys).values(
            kid=key.kid, alg=key.alg, private_jwk_encrypted=key.private_jwk_encrypted,
            public_jwk=key.public_jwk, date_created=now, active=True))
        added.append(f"signing-key:{key.kid}")
    return added
