"""A file destination: one file per client in a directory, what Docker and Kubernetes secrets
mount and what ``*_FILE`` settings read.

Content: the client secret alone, UTF-8, no trailing newline (the client id is the file's name
by default, ``{clientId}``). The file is mode 0600, written atomically: a temporary file in the
same directory, flushed to disk, then renamed over the old one, so a reader sees the old secret
or the new one, never half of either.

The directory must lie under the operator's ``KEYSTEAD_SECRET_FILE_ROOT``: an admin configures
a destination through the API, and must not thereby write files anywhere the server can.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from keystead.domain.audit import JSONValue
from keystead.domain.secret_delivery import DeliveryError

CLIENT_ID_MARK = "{clientId}"
FILE_MODE = 0o600


class FileDestination:
    def __init__(self, directory: Path, file_name: str) -> None:
        self.directory = directory
        self.file_name = file_name

    def path_for(self, client_id: str) -> Path:
        return self.directory / self.file_name.replace(CLIENT_ID_MARK, client_id)

    def write(self, client_id: str, secret: str) -> None:
        target = self.path_for(client_id)
        try:
            # mkstemp creates the file 0600, readable by this user only, in the target's dir.
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".keystead-")
        except OSError as exc:
            raise DeliveryError(f"cannot write in {self.directory}: {exc.strerror}") from None
        try:
            with os.fdopen(handle, "wb") as file:
                os.fchmod(file.fileno(), FILE_MODE)
                file.write(secret.encode())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
            _sync_directory(self.directory)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise DeliveryError(f"cannot write {target}: {exc.strerror}") from None

    def read_back(self, client_id: str) -> str:
        target = self.path_for(client_id)
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeliveryError(f"cannot read back {target}: {exc}") from None

    def describe(self) -> dict[str, JSONValue]:
        return {"kind": "file", "directory": str(self.directory), "fileName": self.file_name}


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
