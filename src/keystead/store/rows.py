"""What several stores do alike: read the first matching row, every row of the organisation
in order, one page of a search with its total, or whether anything still refers to an id;
write a row in place of the one with its id (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Select,
    Table,
    delete,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.paging import Page
from keystead.store.tables import ORG_ID

T = TypeVar("T")


async def first_row(conn: AsyncConnection, table: Table, make: Callable[[Row[Any]], T],
                    *where: ColumnElement[bool], for_update: bool = False) -> T | None:
    """The first row of ``table`` matching ``where``, as ``make`` builds it; None if none.
    ``for_update`` locks it for the transaction (PostgreSQL)."""
    query = select(table).where(*where)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    return make(row) if row else None


async def organisation_rows(conn: AsyncConnection, table: Table, make: Callable[[Row[Any]], T],
                            order: ColumnElement[Any]) -> list[T]:
    """Every row of the organisation's ``table``, by ``order``, as ``make`` builds each."""
    rows = await conn.execute(select(table).where(
        table.c.organization_id == ORG_ID).order_by(order))
    return [make(r) for r in rows]


async def replace_row(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> None:
    """Make ``values`` the row of ``table`` with their ``id``, whether or not there was one.
    Delete-then-insert keeps one statement shape on both databases (no dialect upsert)."""
    await conn.execute(delete(table).where(table.c.id == values["id"]))
    await conn.execute(insert(table).values(**values))


async def referred_to(conn: AsyncConnection, *uses: ColumnElement[bool]) -> bool:
    """Whether any row matches one of ``uses`` (one statement, one EXISTS each)."""
    row = (await conn.execute(select(*(select(exists().where(use)).scalar_subquery()
                                       for use in uses)))).one()
    return any(row)


def equal_to(wanted: Iterable[tuple[Column[Any], object | None]]) -> list[ColumnElement[bool]]:
    """A search filter's conditions: each column equal to its value, where one is given."""
    return [column == str(value) for column, value in wanted if value is not None]


async def page_of(conn: AsyncConnection, table: Table, query: Select[Any],
                  where: Sequence[ColumnElement[bool]], page: Page
                  ) -> tuple[Sequence[Row[Any]], int]:
    """One page of ``query`` (already ordered) narrowed by ``where``, and how many rows of
    ``table`` match in all."""
    total = (await conn.execute(
        select(func.count()).select_from(table).where(*where))).scalar_one()
    rows = await conn.execute(
        query.where(*where).limit(page.size).offset((page.number - 1) * page.size))
    return rows.all(), int(total)
