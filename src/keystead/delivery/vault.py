"""A HashiCorp Vault / OpenBao destination: the KV version 2 secrets engine, through ``hvac``.

Each client's secret is one KV v2 secret at ``<mount>/<path>`` (the path template's
``{clientId}`` replaced by the client's id) holding ``{"client_id": ..., "client_secret": ...}``;
every rotation adds a version, so the vault keeps the history its own policy allows.

Keystead signs in with a token (``KEYSTEAD_VAULT_TOKEN``) or with AppRole
(``KEYSTEAD_VAULT_ROLE_ID`` and ``KEYSTEAD_VAULT_SECRET_ID``, a fresh login per delivery). The
address and credentials are the operator's settings, never a client's: an admin who could name
the address could send Keystead's vault token to a server of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import hvac
import requests
from hvac.exceptions import VaultError

from keystead.domain.audit import JSONValue
from keystead.domain.secret_delivery import DeliveryError

CLIENT_ID_MARK = "{clientId}"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class VaultConnection:
    """The vault the server delivers to, and how it signs in (from ``Settings``)."""

    address: str
    token: str = ""
    role_id: str = ""
    secret_id: str = ""
    approle_mount: str = "approle"
    namespace: str | None = None
    timeout_seconds: float = 10.0
    ca_cert: str | None = None  # a CA bundle for the vault's TLS certificate (else the system's)

    @property
    def auth(self) -> str:
        return "approle" if self.role_id else "token"

    def client(self) -> hvac.Client:
        """A signed-in client. Raises: DeliveryError (unreachable, refused)."""
        vault = hvac.Client(url=self.address, token=self.token or None,
                            namespace=self.namespace, timeout=self.timeout_seconds,
                            verify=self.ca_cert or True)
        if self.role_id:
            _call(f"AppRole sign-in at {self.address}", lambda: vault.auth.approle.login(
                role_id=self.role_id, secret_id=self.secret_id or None,
                mount_point=self.approle_mount))
        return vault


class VaultDestination:
    def __init__(self, connection: VaultConnection, mount: str, path: str) -> None:
        self.connection = connection
        self.mount = mount
        self.path = path

    def path_for(self, client_id: str) -> str:
        return self.path.replace(CLIENT_ID_MARK, client_id)

    def write(self, client_id: str, secret: str) -> None:
        vault = self.connection.client()
        path = self.path_for(client_id)
        _call(f"writing {self.mount}/{path} at {self.connection.address}",
              lambda: vault.secrets.kv.v2.create_or_update_secret(
                  path=path, mount_point=self.mount,
                  secret={"client_id": client_id, "client_secret": secret}))

    def read_back(self, client_id: str) -> str:
        vault = self.connection.client()
        path = self.path_for(client_id)
        answer = _call(f"reading {self.mount}/{path} at {self.connection.address}",
                       lambda: vault.secrets.kv.v2.read_secret_version(
                           path=path, mount_point=self.mount, raise_on_deleted_version=True))
        try:
            value = answer["data"]["data"]["client_secret"]
        except (KeyError, TypeError):
            raise DeliveryError(f"{self.mount}/{path} holds no client_secret") from None
        if not isinstance(value, str):
            raise DeliveryError(f"{self.mount}/{path}: client_secret is not text")
        return value

    def describe(self) -> dict[str, JSONValue]:
        return {"kind": "vault", "address": self.connection.address, "mount": self.mount,
                "path": self.path, "auth": self.connection.auth}


def _call(what: str, action: Callable[[], T]) -> T:
    """Run one vault request; a refusal or an unreachable vault becomes a DeliveryError naming
    what was tried and why (the vault's own error text: it never echoes a written value)."""
    try:
        return action()
    except VaultError as exc:
        reason = "; ".join(exc.errors) if isinstance(exc.errors, list) else type(exc).__name__
        raise DeliveryError(f"{what}: refused ({type(exc).__name__}: {reason})") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{what}: vault unreachable ({type(exc).__name__})") from None
