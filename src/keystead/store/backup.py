"""Online backups of the embedded SQLite store (PostgreSQL is backed up with ``pg_dump``).

SQLite's backup API copies a consistent snapshot page by page while the server keeps serving and
writing (WAL mode: readers never block the writer). The copy is written next to its destination
and renamed into place only once it passes ``PRAGMA integrity_check``, so a half-written or
corrupt file never carries the backup's name. It holds digests of secrets and the signing keys
encrypted under the server key, so it is created readable by its owner only; it does not hold
the server key itself, without which its secrets, tokens and TOTP keys are useless.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path


class BackupError(Exception):
    """The backup could not be made; nothing was left at the destination."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    destination: Path
    schema_revision: str
    bytes_written: int
    clients: int
    audit_events: int


def backup_sqlite(source: Path, destination: Path, *,
                  busy_timeout_seconds: float = 5.0) -> BackupReport:
    """Copy the live database at ``source`` to the new file ``destination``.

    Raises:
        BackupError: no database at ``source``, ``destination`` exists, or the copy failed its
            integrity check.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source} (is KEYSTEAD_DATA_DIR right?)")
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    # Created 0600 before any byte is written: the copy holds digests and encrypted keys.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with closing(sqlite3.connect(source, timeout=busy_timeout_seconds)) as live, \
                closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            report = _inspect(copy, destination)
        partial.replace(destination)
    except (sqlite3.Error, BackupError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from exc
    return BackupReport(destination, report[0], destination.stat().st_size, report[1], report[2])


def _inspect(copy: sqlite3.Connection, destination: Path) -> tuple[str, int, int]:
    checked = copy.execute("PRAGMA integrity_check").fetchall()
    if checked != [("ok",)]:
        raise BackupError(f"the copy for {destination} failed its integrity check: {checked[:3]}")
    try:
        (revision,) = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        (clients,) = copy.execute("SELECT count(*) FROM clients").fetchone()
        (events,) = copy.execute("SELECT count(*) FROM audit_events").fetchone()
    except (sqlite3.Error, TypeError) as exc:
        raise BackupError("the source is not a Keystead database (run `keystead init`)") from exc
    return str(revision), int(clients), int(events)
