"""Run Alembic migrations programmatically (``keystead init`` and the tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Create or upgrade the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(database_url), "head")


@functools.cache  # the migrations ship with the code: reading their files once a process will do
def head_revision() -> str:
    """The newest revision this code knows: a database at another one is not current."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # no migrations at all: a packaging error
        raise RuntimeError("no Alembic migrations found")
    return head
