"""Remote mode: the CLI as a client of a running server's management API.

A command runs remotely when a server is named (``--server``, ``KEYSTEAD_SERVER``) or a profile is
(``--profile``, ``KEYSTEAD_PROFILE``); otherwise it runs locally, on the store, as the operator.
Remotely it signs in with client credentials at ``<server>/oauth/token`` and calls the API with
the bearer token, so the server's permission rules and audit apply to it as to any admin client.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.profiles import Profile, load_profile

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Connection:
    """What the root command's options named (None: not named there)."""

    server: str | None = None
    profile: str | None = None
    client_id: str | None = None


# Set by the root command's callback for the command it runs.
connection: ContextVar[Connection | None] = ContextVar("connection", default=None)


def named_server() -> str | None:
    """The server remote mode would use (no credentials needed: ``health`` asks anonymously)."""
    options = connection.get() or Connection()
    server = options.server or os.environ.get("KEYSTEAD_SERVER", "").strip() or None
    profile_name = options.profile or os.environ.get("KEYSTEAD_PROFILE", "").strip() or None
    if server is None and profile_name is not None:
        server = load_profile(profile_name).server
    return server.rstrip("/") if server else None


def target() -> Profile | None:
    """Where and as whom to run remotely; None for local mode.

    Options win over the environment, which wins over the profile.
    """
    options = connection.get() or Connection()
    server = options.server or os.environ.get("KEYSTEAD_SERVER", "").strip() or None
    profile_name = options.profile or os.environ.get("KEYSTEAD_PROFILE", "").strip() or None
    if server is None and profile_name is None:
        return None
    profile = load_profile(profile_name) if profile_name else None
    server = server or (profile.server if profile else None)
    client_id = (options.client_id or os.environ.get("KEYSTEAD_CLIENT_ID", "").strip()
                 or (profile.client_id if profile else ""))
    secret = os.environ.get("KEYSTEAD_CLIENT_SECRET", "") or (
        profile.client_secret if profile else "")
    if not server or not client_id or not secret:
        stop("remote mode needs a client id and secret: --client-id or KEYSTEAD_CLIENT_ID with "
             "KEYSTEAD_CLIENT_SECRET, or a profile (`keystead login`)", exit_codes.USAGE)
    if not server.startswith(("http://", "https://")):
        stop(f"--server must be an http(s) URL, not {server!r}", exit_codes.USAGE)
    return Profile(server.rstrip("/"), client_id, secret)


def _message(answer: httpx.Response) -> str:
    """The reason in a Genesys error body (or an OAuth error), with the fields it names."""
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {answer.status_code}"
    message = str(body.get("message") or body.get("error_description") or body.get("error")
                  or f"HTTP {answer.status_code}")
    details = [f"{d.get('fieldName')}: {d.get('errorMessage') or d.get('message')}"
               for d in body.get("details") or [] if isinstance(d, dict) and d.get("fieldName")]
    return "; ".join([message, *details]) if details and details[0] not in message else message


@dataclass
class Api:
    """An httpx client on the server, signed in with client credentials on first use."""

    where: Profile
    http: httpx.Client = field(init=False)
    token: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.where.server, timeout=TIMEOUT_SECONDS)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            stop(f"no answer from {self.where.server} ({type(exc).__name__})", exit_codes.SERVER)

    def _sign_in(self) -> str:
        answer = self._send("POST", "/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(self.where.client_id, self.where.client_secret))
        if answer.status_code != 200:
            stop(f"{self.where.server} refused to sign in client {self.where.client_id}: "
                 f"{_message(answer)}", exit_codes.for_status(answer.status_code)
                 if answer.status_code != 400 else exit_codes.DENIED)
        return str(answer.json()["access_token"])

    def call(self, method: str, path: str, *, body: Any = None,
             params: dict[str, Any] | None = None) -> Any:
        """The JSON the API answers (None for 204); an error answer exits with its reason."""
        if self.token is None:
            self.token = self._sign_in()
        answer = self._send(method, path, json=body, params=params,
                            headers={"Authorization": f"Bearer {self.token}"})
        if answer.status_code >= 400:
            stop(_message(answer), exit_codes.for_status(answer.status_code))
        return None if answer.status_code == 204 or not answer.content else answer.json()

    def every(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every entity of a paged listing."""
        entities: list[dict[str, Any]] = []
        number = 1
        while True:
            page = self.call("GET", path, params={**(params or {}), "pageSize": 500,
                                                  "pageNumber": number})
            entities += page["entities"]
            if number >= int(page.get("pageCount") or 1):
                return entities
            number += 1


def api() -> Api | None:
    """The API client for remote mode; None in local mode."""
    where = target()
    return None if where is None else Api(where)
