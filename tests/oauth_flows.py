"""Drive the user-facing grants the way a browser and an app would, through the real endpoints:
sign in, /oauth/authorize (consent included), then the code at /oauth/token."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from httpx2 import Response
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Person, create_user, csrf_of, sign_in
from tests.support.apps import serve
from tests.support.clients import Registered, bootstrap, code_body, create_client
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, token

REDIRECT_URI = "https://app.example/cb"
_SEALED = re.compile(r'name="request" value="([^"]+)"')


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


def pkce_pair() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def code_client(http: TestClient, *, redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
                scopes: tuple[str, ...] = ("users:readonly",), **fields: Any) -> Registered:
    """A confidential CODE client registered through the API by a Super Admin client."""
    admin = bootstrap(http, name="flow admin", roles=["Super Admin"])
    body = code_body(registeredRedirectUri=list(redirect_uris), scope=list(scopes), **fields)
    return create_client(http, bearer(token(http, admin)), body)


def signed_in_person(http: TestClient, email: str = "user@example.com", *,
                     roles: tuple[str, ...] = ()) -> Person:
    """A user, signed in on ``http`` (TOTP enrolled first when their roles require MFA)."""
    person = create_user(http, email, roles=roles)
    sign_in(http, person)
    return person


def authorize(http: TestClient, client_id: str, *, scope: str = "openid users:readonly",
              redirect_uri: str = REDIRECT_URI, pkce: Pkce | None = None,
              consent: str = "allow", **params: str) -> Response:
    """GET /oauth/authorize (answering the consent page when one is shown), not following the
    final redirect: the response's location is the answer to the client."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": scope, "state": "s-123", **params}
    if pkce is not None:
        query |= {"code_challenge": pkce.challenge, "code_challenge_method": "S256"}
    page = http.get("/oauth/authorize", params=query, follow_redirects=False)
    if page.status_code == 200 and (sealed := _SEALED.search(page.text)):
        return http.post("/oauth/authorize/consent", data={
            "csrf_token": csrf_of(page.text), "request": sealed.group(1), "decision": consent},
            follow_redirects=False)
    return page


def answer_of(response: Response) -> dict[str, str]:
    """The query (or fragment) parameters the authorization endpoint redirected with."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    parts = urlsplit(response.headers["location"])
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}


def exchange(http: TestClient, client: Registered | str, code: str, *,
             pkce: Pkce | None = None, redirect_uri: str = REDIRECT_URI) -> Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        form["code_verifier"] = pkce.verifier
    if isinstance(client, str):  # a public client names itself
        return http.post("/oauth/token", data={**form, "client_id": client})
    return http.post("/oauth/token", data=form, auth=client.basic_auth)


def user_tokens(http: TestClient, client: Registered, *,
                scope: str = "openid users:readonly") -> dict[str, Any]:
    """The token response of a whole code + PKCE flow for the signed-in user."""
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, scope=scope, pkce=pkce))["code"]
    response = exchange(http, client, code, pkce=pkce)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- appended for tests/flows/test_authorization_code.py, test_refresh_tokens.py, test_oidc.py --

def sealed_request_of(html: str) -> str:
    """The sealed authorization request the consent page posts back."""
    found = _SEALED.search(html)
    assert found, "the page is not a consent page"
    return found.group(1)


def refresh(http: TestClient, client: Registered | str, refresh_token: str,
            **form: str) -> Response:
    """POST /oauth/token with grant_type=refresh_token (RFC 6749 §6)."""
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, **form}
    if isinstance(client, str):  # a public client names itself
        return http.post("/oauth/token", data={**body, "client_id": client})
    return http.post("/oauth/token", data=body, auth=client.basic_auth)


def public_client(http: TestClient, headers: dict[str, str], *,
                  redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
                  scopes: tuple[str, ...] = ("users:readonly",)) -> str:
    """A public CODE client (no secret, RFC 6749 §2.1) registered through the API; its id."""
    response = http.post("/api/v2/oauth/clients", headers=headers, json=code_body(
        name="native app", clientType="public", registeredRedirectUri=list(redirect_uris),
        scope=list(scopes)))
    assert response.status_code == 200, response.text
    assert not response.json().get("secret")
    return str(response.json()["id"])


# -- appended for the reuse grace (codes and rotated refresh tokens used twice) --

@contextmanager
def after_grace(settings: Settings) -> Iterator[TestClient]:
    """Another app on the same database whose clock is past the reuse grace: a second use sent
    to it is a replay, not a racing duplicate."""
    clock = ManualClock()
    clock.advance(settings.grant_reuse_grace_seconds + 1)
    with serve(settings, clock=clock) as client:
        yield client
