"""One Keystead site for the operator CLI's tests, run in both of its modes.

A data directory (SQLite, or a fresh PostgreSQL database) that ``keystead init`` prepared, served
by a real uvicorn on a loopback port, with a Super Admin client to sign in as. ``site.local``
runs a command on the store as the operator; ``site.remote`` the same command through the API.
Commands run in-process (typer's runner): a subprocess per command would make a test per command
and mode take minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from keystead.cli import app
from keystead.config import Settings
from tests.support.clients import Registered
from tests.support.postgres import throwaway_database, url_of
from tests.support.servers import reserved_port, uvicorn_on
from tests.support.tokens import bearer

MODES = ("local", "remote")
# Every setting that picks a mode or a credential, unset unless a test names it.
CONNECTION_VARIABLES = ("KEYSTEAD_SERVER", "KEYSTEAD_PROFILE", "KEYSTEAD_PROFILES",
                        "KEYSTEAD_CLIENT_ID", "KEYSTEAD_CLIENT_SECRET")


@dataclass
class Site:
    data_dir: Path
    database_url: str
    server: str = ""
    admin: Registered = field(default_factory=lambda: Registered("", ""))

    def env(self, **extra: str) -> dict[str, str | None]:
        values: dict[str, str | None] = dict.fromkeys(CONNECTION_VARIABLES)
        values |= {"KEYSTEAD_DATA_DIR": str(self.data_dir),
                   "KEYSTEAD_DATABASE_URL": self.database_url}
        return values | extra

    def local(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env(**env), input=stdin)

    def remote(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        """As an operator scripts it: the server named, the credentials in the environment;
        no local store to fall back on."""
        values = self.env(**({"KEYSTEAD_CLIENT_ID": self.admin.id,
                               "KEYSTEAD_CLIENT_SECRET": self.admin.secret} | env))
        values["KEYSTEAD_DATA_DIR"] = str(self.data_dir.parent / "not-here")
        values["KEYSTEAD_DATABASE_URL"] = ""
        return CliRunner().invoke(app, ["--server", self.server, *args], env=values,
                                  input=stdin)

    def run(self, mode: str, *args: str, stdin: str | None = None) -> Result:
        return self.local(*args, stdin=stdin) if mode == "local" else self.remote(
            *args, stdin=stdin)

    def ok(self, mode: str, *args: str, stdin: str | None = None) -> str:
        """Run a command that must succeed; its standard output."""
        result = self.run(mode, *args, stdin=stdin)
        assert result.exit_code == 0, f"{mode} {args}: {result.stderr}{result.exception!r}"
        return result.stdout

    def json(self, mode: str, *args: str, stdin: str | None = None) -> object:
        return json.loads(self.ok(mode, *args, "--json", stdin=stdin))


@contextmanager
def _database(store: str) -> Iterator[str]:
    if store == "sqlite":
        yield ""
        return
    with throwaway_database("keystead_opcli") as name:
        yield url_of(name)


@contextmanager
def serving_site(store: str, data_dir: Path) -> Iterator[Site]:
    """An initialised site with a Super Admin (and OAuth Admin) client, served until the block
    ends."""
    with _database(store) as database_url:
        site = Site(data_dir, database_url)
        assert site.local("init").exit_code == 0
        printed = json.loads(site.ok("local", "bootstrap-client", "--name", "operator",
                                     "--role", "Super Admin", "--role", "OAuth Admin", "--json"))
        site.admin = Registered(printed["id"], printed["secret"])
        port = reserved_port()
        site.server = f"http://127.0.0.1:{port}"
        settings = Settings(data_dir=data_dir, database_url=database_url,
                            secret_key=SecretStr(""), issuer=site.server)
        with uvicorn_on(settings, port):
            yield site


def api_call(site: Site, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The management API as the site's admin client (to check what a command did)."""
    with httpx.Client(base_url=site.server) as http:
        issued = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=site.admin.basic_auth)
        assert issued.status_code == 200, issued.text
        return http.request(method, path, headers=bearer(issued.json()["access_token"]),
                            **kwargs)
