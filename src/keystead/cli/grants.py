"""A role in a division, named as the operator names them (clients add-role, users grant)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.clients import RoleDivision
from keystead.domain.errors import InvalidInputError
from keystead.store.catalog import SqlCatalog
from keystead.store.divisions import SqlDivisionStore
from keystead.store.roles import SqlRoleStore


async def role_in_division(conn: AsyncConnection, role: str,
                           division: str | None) -> RoleDivision:
    """The named role in the named division (Home when None).

    Raises:
        InvalidInputError: no such role or division.
    """
    found = await SqlRoleStore(conn).by_name(role)
    if found is None:
        raise InvalidInputError.one("role", "unknown.role", f"no role named {role!r}")
    division_id = await SqlCatalog(conn).home_division_id()
    if division is not None:
        named = await SqlDivisionStore(conn).by_name(division)
        if named is None:
            raise InvalidInputError.one("division", "unknown.division",
                                        f"no division named {division!r}")
        division_id = named.id
    return RoleDivision(found.id, division_id)

