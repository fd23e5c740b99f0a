"""Columns many tables declare alike: the row's id, its organisation, and the client it
belongs to (deleted with that client). Each call makes a new Column: a table owns its own."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String


def id_key() -> Column[str]:
    """The row's id, a UUID's 36 characters."""
    return Column("id", String(36), primary_key=True)


def organization_ref() -> Column[str]:
    return Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False)


def client_ref(*, primary_key: bool = False, nullable: bool = False,
               index: bool | None = None) -> Column[str]:
    """The client the row belongs to; deleting the client deletes the row."""
    return Column("client_id", String(36), ForeignKey("clients.id", ondelete="CASCADE"),
                  primary_key=primary_key, nullable=nullable, index=index)
