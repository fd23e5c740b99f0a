"""The file destination: the secret alone, mode 0600, replaced atomically (no temporary file
left behind), read back; its settings are checked (root, plain file name) with the field named."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keystead.delivery import Destinations
from keystead.delivery.files import FileDestination
from keystead.delivery.vault import VaultConnection
from keystead.domain.errors import InvalidInputError
from keystead.domain.secret_delivery import DeliveryError


def fields(exc: pytest.ExceptionInfo[InvalidInputError]) -> set[str]:
    return {p.field for p in exc.value.problems}


def test_file_holds_the_secret_alone_mode_0600_and_is_replaced_atomically(
        tmp_path: Path) -> None:
    destination = FileDestination(tmp_path, "{clientId}.secret")

    destination.write("c1", "first-secret")
    destination.write("c1", "second-secret")

    target = tmp_path / "c1.secret"
    assert target.read_bytes() == b"second-secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["c1.secret"]  # no temporary file left
    assert destination.read_back("c1") == "second-secret"
    assert destination.describe() == {"kind": "file", "directory": str(tmp_path),
                                      "fileName": "{clientId}.secret"}


def test_unwritable_directory_fails_with_the_place_not_the_secret(tmp_path: Path) -> None:
    destination = FileDestination(tmp_path / "missing", "{clientId}")

    with pytest.raises(DeliveryError) as raised:
        destination.write("c1", "the-secret-value")

    assert "missing" in str(raised.value)
    assert "the-secret-value" not in str(raised.value)


def test_file_settings_are_checked_field_by_field(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    (root / "apps").mkdir(parents=True)
    factory = Destinations(file_root=root, vault=None)

    assert isinstance(factory.open("file", {"directory": str(root / "apps")}), FileDestination)
    with pytest.raises(InvalidInputError) as outside:
        factory.open("file", {"directory": str(root / ".." / "elsewhere")})
    with pytest.raises(InvalidInputError) as missing:
        factory.open("file", {})
    with pytest.raises(InvalidInputError) as bad_name:
        factory.open("file", {"directory": str(root), "fileName": "../passwd"})
    with pytest.raises(InvalidInputError) as unknown:
        factory.open("file", {"directory": str(root), "token": "x"})
    with pytest.raises(InvalidInputError) as kind:
        factory.open("s3", {})

    assert fields(outside) == {"settings.directory"}
    assert fields(missing) == {"settings.directory"}
    assert fields(bad_name) == {"settings.fileName"}
    assert fields(unknown) == {"settings.token"}
    assert fields(kind) == {"kind"}


def test_destinations_the_operator_has_not_enabled_are_refused(tmp_path: Path) -> None:
    off = Destinations(file_root=None, vault=None)

    with pytest.raises(InvalidInputError) as file_off:
        off.open("file", {"directory": str(tmp_path)})
    with pytest.raises(InvalidInputError) as vault_off:
        off.open("vault", {"path": "apps/{clientId}"})

    assert "KEYSTEAD_SECRET_FILE_ROOT" in str(file_off.value)
    assert "KEYSTEAD_VAULT_ADDR" in str(vault_off.value)


def test_vault_settings_need_a_relative_path() -> None:
    factory = Destinations(file_root=None, vault=VaultConnection("http://127.0.0.1:1"))

    with pytest.raises(InvalidInputError) as no_path:
        factory.open("vault", {"mount": "secret"})
    with pytest.raises(InvalidInputError) as escaping:
        factory.open("vault", {"path": "../sys/{clientId}"})

    assert fields(no_path) == {"settings.path"}
    assert fields(escaping) == {"settings.path"}
    assert factory.open("vault", {"path": "apps/{clientId}"}).describe() == {
        "kind": "vault", "address": "http://127.0.0.1:1", "mount": "secret",
        "path": "apps/{clientId}", "auth": "token"}
