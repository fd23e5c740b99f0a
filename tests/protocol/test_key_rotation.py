"""Signing-key rotation: a new key is published before it signs, and an old key stays published
until every token it signed has expired (RFC 7517 key sets; OIDC Core §10.1.1)."""

from __future__ import annotations

import base64
import json

from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from keystead.protocol.keys import PUBLISH_DELAY, generate_key
from keystead.store.keys import SqlSigningKeys
from keystead.web.app import housekeeping
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import service
from tests.support.clock import ManualClock
from tests.support.tokens import introspect, token


def _kids(http: TestClient) -> list[str]:
    return [k["kid"] for k in http.get("/oauth/jwks").json()["keys"]]


def _header_kid(access_token: str) -> str:
    head = access_token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


def _rotate(http: TestClient, clock: ManualClock) -> str:
    clock.advance(1)  # the manual clock starts at a whole second, maybe before the first key

    async def work(runtime: Runtime) -> str:
        key = generate_key(runtime.cipher)
        async with runtime.transaction() as conn:
            await SqlSigningKeys(conn).rotate(key, now=clock())
        await runtime.reload_keys()
        return key.kid

    return run(http, work)


def _housekeeping(http: TestClient) -> None:
    run(http, housekeeping)


def test_a_new_key_is_published_before_it_signs(clocked: TestClient, clock: ManualClock) -> None:
    client = service(clocked, "jwt")
    old_kid = _header_kid(token(clocked, client))
    new_kid = _rotate(clocked, clock)
    assert set(_kids(clocked)) == {old_kid, new_kid}
    assert _header_kid(token(clocked, client)) == old_kid  # not yet: replicas must see it first
    clock.advance(PUBLISH_DELAY.total_seconds() + 1)
    _housekeeping(clocked)
    assert _header_kid(token(clocked, client)) == new_kid


def test_tokens_signed_by_the_old_key_stay_valid_after_rotation(clocked: TestClient,
                                                                clock: ManualClock) -> None:
    client = service(clocked, "jwt")
    old_token = token(clocked, client)
    _rotate(clocked, clock)
    clock.advance(PUBLISH_DELAY.total_seconds() + 1)
    _housekeeping(clocked)
    assert introspect(clocked, client, old_token).json()["active"] is True
    keys = KeySet.import_key_set(clocked.get("/oauth/jwks").json())
    assert jwt.decode(old_token, keys).claims["client_id"] == client.id


def test_a_retired_key_leaves_the_key_set_after_its_tokens_expired(clocked: TestClient,
                                                                   clock: ManualClock) -> None:
    client = service(clocked, "jwt")
    old_kid = _header_kid(token(clocked, client))
    _rotate(clocked, clock)
    # Kept for the longest token lifetime any client has (3,600 s, the default, here).
    clock.advance(PUBLISH_DELAY.total_seconds() + 3_600 - 10)
    _housekeeping(clocked)
    assert old_kid in _kids(clocked)
    clock.advance(20)
    _housekeeping(clocked)
    assert old_kid not in _kids(clocked)
    assert len(_kids(clocked)) == 1
