"""A role in a division, named as the operator names them (clients add-role, users grant)."""

from __future__ import annotations

from keystead.domain.clients import RoleDivision
from keystead.domain.errors import InvalidInputError
from keystead.store.catalog import SqlCatalog


async def role_in_division(catalog: SqlCatalog, role: str,
                           division: str | None) -> RoleDivision:
    """The named role in the named division (Home when None).

    Raises:
        InvalidInputError: no such role or division.
    """
    found = await catalog.role_by_name(role)
    if found is None:
        raise InvalidInputError.one("role", "unknown.role", f"no role named {role!r}")
    division_id = await catalog.home_division_id()
    if division is not None:
        named = [d.id for d in await catalog.divisions() if d.name == division]
        if not named:
            raise InvalidInputError.one("division", "unknown.division",
                                        f"no division named {division!r}")
        division_id = named[0]
    return RoleDivision(found.id, division_id)

