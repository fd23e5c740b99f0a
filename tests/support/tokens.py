"""Tokens from the protocol endpoints, and tokens in each state the API must refuse."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import httpx2
from starlette.testclient import TestClient

from tests.support.clients import Registered, delete_client, service, set_state

# Introspection and the API must refuse an invalid token in either format.
TOKEN_FORMATS = ["opaque", "jwt"]
TokenMaker = Callable[[TestClient, Registered, str], str]


def token(http: TestClient, client: Registered, *, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = http.post("/oauth/token", data=form, auth=client.basic_auth)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def introspect(http: TestClient, caller: Registered, access_token: str,
               **form: str) -> httpx2.Response:
    return http.post("/oauth/introspect", data={"token": access_token, **form},
                     auth=caller.basic_auth)


def revoke(http: TestClient, caller: Registered, access_token: str,
           **form: str) -> httpx2.Response:
    return http.post("/oauth/revoke", data={"token": access_token, **form},
                     auth=caller.basic_auth)


def challenge(response: httpx2.Response | httpx.Response,
              scheme: str = "Bearer") -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate`` challenge (RFC 6750 §3, RFC 7235 §2.1)."""
    header = response.headers.get("www-authenticate", "")
    assert header.startswith(scheme + " "), header
    return dict(re.findall(r'([a-z_]+)="([^"]*)"', header))


def revoked_token(http: TestClient, _admin: Registered, fmt: str) -> str:
    svc = service(http, fmt)
    value = token(http, svc)
    assert revoke(http, svc, value).status_code == 200
    return value


def token_of_client_in(state: str) -> TokenMaker:
    def make(http: TestClient, admin: Registered, fmt: str) -> str:
        svc = service(http, fmt)
        value = token(http, svc)
        set_state(http, bearer(token(http, admin)), svc.id, state)
        return value
    return make


def token_of_deleted_client(http: TestClient, admin: Registered, fmt: str) -> str:
    svc = service(http, fmt)
    value = token(http, svc)
    delete_client(http, bearer(token(http, admin)), svc.id)
    return value
