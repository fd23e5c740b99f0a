"""The PostgreSQL server the suite runs on (KEYSTEAD_TEST_POSTGRES_URL), SQL run on it as its
superuser, and throw-away databases in it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.needs import missing

POSTGRES_URL = os.environ.get("KEYSTEAD_TEST_POSTGRES_URL", "")
NO_POSTGRES = "KEYSTEAD_TEST_POSTGRES_URL is not set (CI sets it)"


async def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` outside a transaction (CREATE DATABASE, ALTER DATABASE …)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def url_of(name: str) -> str:
    """The URL of database ``name`` on the suite's server."""
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def throwaway_database(prefix: str, *, template: str | None = None) -> Iterator[str]:
    """A new database (empty, or a copy of database ``template``), dropped when the block ends;
    its name. Skips the test (fails it in CI) when there is no server."""
    if not POSTGRES_URL:
        missing(NO_POSTGRES)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(run_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"{clause}'))
    try:
        yield name
    finally:
        asyncio.run(run_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
