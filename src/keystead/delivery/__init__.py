"""Secret destinations (``domain/secret_delivery.py``): the kinds Keystead can deliver a
client's secret to, and the checks on their settings.

Adding a kind (AWS Secrets Manager, Azure Key Vault …): write a class with ``write``,
``read_back`` and ``describe`` in a module of this package, take its credentials from
``Settings`` (never from the per-client settings, which any admin of the client can read), and
add a branch to ``Destinations.open`` that checks its settings and builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from keystead.delivery.files import CLIENT_ID_MARK, FileDestination
from keystead.delivery.vault import VaultConnection, VaultDestination
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.secret_delivery import SecretDestination

FILE_SETTINGS = frozenset({"directory", "fileName"})
VAULT_SETTINGS = frozenset({"mount", "path"})
MAX_SETTING = 500


class Destinations:
    """Opens a destination of a known kind from its checked settings."""

    kinds = ("file", "vault")

    def __init__(self, *, file_root: Path | None, vault: VaultConnection | None) -> None:
        self.file_root = file_root
        self.vault = vault

    def open(self, kind: str, settings: Mapping[str, str]) -> SecretDestination:
        """Raises: InvalidInputError naming ``kind`` or ``settings.<name>`` and the fix."""
        if kind == "file":
            return self._file(settings)
        if kind == "vault":
            return self._vault(settings)
        raise InvalidInputError.one("kind", "unknown",
                                    f"kind must be one of {', '.join(self.kinds)}")

    def _file(self, settings: Mapping[str, str]) -> FileDestination:
        problems = _unknown(settings, FILE_SETTINGS)
        raw = settings.get("directory", "")
        name = settings.get("fileName", CLIENT_ID_MARK)
        if self.file_root is None:
            problems.append(Problem("kind", "not.enabled", "file destinations are off: the "
                                    "operator sets KEYSTEAD_SECRET_FILE_ROOT to allow them"))
        elif not raw:
            problems.append(Problem("settings.directory", "required",
                                    "directory names where the secret file is written"))
        else:
            directory = Path(raw)
            root = self.file_root.resolve()
            if not directory.is_absolute() or not directory.resolve().is_relative_to(root):
                problems.append(Problem("settings.directory", "outside.root",
                                        f"directory must be an absolute path under {root}"))
            elif not directory.is_dir():
                problems.append(Problem("settings.directory", "not.found",
                                        "directory must exist (create it, then try again)"))
        if not name or "/" in name or "\\" in name or name.startswith(".") or \
                len(name) > MAX_SETTING:
            problems.append(Problem("settings.fileName", "invalid.name",
                                    "fileName must be a plain file name (no '/', not starting "
                                    "with '.'); {clientId} is replaced by the client id"))
        if problems:
            raise InvalidInputError(problems)
        return FileDestination(Path(raw).resolve(), name)

    def _vault(self, settings: Mapping[str, str]) -> VaultDestination:
        problems = _unknown(settings, VAULT_SETTINGS)
        mount = settings.get("mount", "secret")
        path = settings.get("path", "")
        if self.vault is None:
            problems.append(Problem("kind", "not.enabled", "vault destinations are off: the "
                                    "operator sets KEYSTEAD_VAULT_ADDR (and a token or AppRole)"))
        for field, value in (("mount", mount), ("path", path)):
            if not value:
                problems.append(Problem(f"settings.{field}", "required",
                                        f"{field} is required (e.g. mount 'secret', path "
                                        "'keystead/clients/{clientId}')"))
            elif value.startswith("/") or ".." in value.split("/") or len(value) > MAX_SETTING:
                problems.append(Problem(f"settings.{field}", "invalid.path",
                                        f"{field} must be a relative path without '..'"))
        if problems or self.vault is None:
            raise InvalidInputError(problems)
        return VaultDestination(self.vault, mount, path)


def _unknown(settings: Mapping[str, str], known: frozenset[str]) -> list[Problem]:
    return [Problem(f"settings.{key}", "unknown",
                    f"unknown setting (known: {', '.join(sorted(known))}); credentials are "
                    "never per client: they come from the server's settings")
            for key in settings if key not in known]
