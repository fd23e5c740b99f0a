"""Rotating the server key (KEYSTEAD_SECRET_KEY → KEYSTEAD_SECRET_KEYS): three deployments of the
same database, as an operator rolls them out.

A: the single key of old. B: the ring [k2, that key]: everything A made keeps working, a client
secret used is re-keyed under k2, new values name k2; then the values encrypted at rest are
re-encrypted under k2 (``keystead secret-keys reseal``). C: the ring [k2] alone: what only the
old key could check stops (tokens, codes, refresh tokens, sessions, secrets never used since),
what was re-keyed or re-encrypted keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import select, update
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import fingerprint
from keystead.domain.secrets import resealed
from keystead.store.key_ring import Resealed, SqlKeyRingStore
from keystead.store.tables import client_secrets
from keystead.web.console.sessions import SESSION_COOKIE
from keystead.web.runtime import Runtime
from tests.conftest import SECRET_KEY
from tests.oauth_flows import code_client, exchange, refresh, user_tokens
from tests.people import create_user, sign_in
from tests.support.apps import run, serve
from tests.support.clients import Registered, service
from tests.support.tokens import introspect, revoke, token

K2 = "k2:" + "second-server-key-" + "z" * 30


def _ring(settings: Settings, ring: str, *, single: str = "") -> Settings:
    return settings.model_copy(update={"secret_keys": SecretStr(ring),
                                       "secret_key": SecretStr(single)})


def _secret_row(http: TestClient, client_id: str) -> tuple[str, str | None]:
    async def work(runtime: Runtime) -> tuple[str, str | None]:
        async with runtime.transaction() as conn:
            row = (await conn.execute(select(client_secrets.c.digest, client_secrets.c.key_id)
                                      .where(client_secrets.c.client_id == client_id))).one()
            return str(row.digest), row.key_id

    return run(http, work)


def _reseal(http: TestClient) -> Resealed:
    """What ``keystead secret-keys reseal`` does."""

    async def work(runtime: Runtime) -> Resealed:
        async with runtime.transaction() as conn:
            return await SqlKeyRingStore(conn).reseal(
                signing_key=lambda v: resealed(runtime.cipher, v),
                totp_secret=runtime.box.reseal)

    return run(http, work)


def _active(http: TestClient, caller: Registered, value: str) -> bool:
    response = introspect(http, caller, value)
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def _signed_in(http: TestClient) -> bool:
    return http.get("/admin", follow_redirects=False).status_code == 200


def test_server_key_rotation_invalidates_nothing_until_the_old_key_leaves(
        settings: Settings) -> None:
    # A: the single key of old.
    with serve(settings) as a:
        svc, jwt_svc, idle = service(a, "opaque"), service(a, "jwt"), service(a, "opaque")
        old_opaque, old_jwt = token(a, svc), token(a, jwt_svc)
        assert old_opaque.startswith(f"ks2-{fingerprint(SECRET_KEY.encode())}.")
        web = code_client(a)
        admin = create_user(a, "admin@example.com", roles=("Super Admin",))
        sign_in(a, admin)  # enrols TOTP: its secret is encrypted at rest under the old key
        old_refresh = str(user_tokens(a, web)["refresh_token"])
        session = dict(a.cookies)
        old_digest, old_kid = _secret_row(a, svc.id)
        assert old_kid == fingerprint(SECRET_KEY.encode())

    # B: k2 in front, the old key still in the ring.
    with serve(_ring(settings, K2, single=SECRET_KEY)) as b:
        b.cookies.update(session)
        assert _signed_in(b)
        assert _active(b, svc, old_opaque)
        assert _active(b, svc, old_jwt)
        rekeyed = token(b, svc)  # the old secret works, and is re-keyed under k2
        digest, kid = _secret_row(b, svc.id)
        assert (kid, digest != old_digest) == ("k2", True)
        assert _secret_row(b, idle.id)[1] == old_kid  # not used: not re-keyed
        assert rekeyed.startswith("ks2-k2.")
        refreshed = refresh(b, web, old_refresh)
        assert refreshed.status_code == 200, refreshed.text
        new_user_token = str(refreshed.json()["access_token"])
        new_refresh = str(user_tokens(b, web)["refresh_token"])
        assert new_refresh.startswith("k2.")
        done = _reseal(b)
        assert (done.signing_keys >= 1, done.totp_secrets, done.unreadable) == (True, 1, 0)

    # C: the old key taken out of the ring.
    with serve(_ring(settings, K2)) as c:
        assert token(c, svc)  # re-keyed under k2: still works
        assert c.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=idle.basic_auth).json()["error"] == "invalid_client"
        assert _active(c, svc, rekeyed)
        assert _active(c, svc, new_user_token)
        assert not _active(c, svc, old_opaque)
        assert not _active(c, svc, old_jwt)
        assert c.get("/api/v2/oauth/clients", headers={
            "Authorization": f"Bearer {old_opaque}"}).status_code == 401
        assert refresh(c, web, old_refresh).json()["error"] == "invalid_grant"
        assert refresh(c, web, new_refresh).status_code == 200
        c.cookies.update(session)
        assert not _signed_in(c)  # the old session id named the old key
        c.cookies.clear()
        sign_in(c, admin)  # its TOTP secret was re-encrypted under k2
        assert _signed_in(c)


def _old_style_opaque(key: bytes, claims: list[str]) -> str:
    """A token exactly as the release before the ring sealed it (``ks1.``)."""
    aead = AESGCM(hmac.new(key, b"keystead opaque access token", hashlib.sha256).digest())
    nonce = os.urandom(12)
    sealed = nonce + aead.encrypt(nonce, "\x1f".join(claims).encode(), b"ks1.")
    return "ks1." + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _old_style_secret_digest(key: bytes, secret: str) -> str:
    """A client-secret digest exactly as the release before the ring stored it."""
    pepper = hmac.new(key, b"keystead client secret", hashlib.sha256).digest()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def _store_old_style_secret(http: TestClient, client: Registered) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(update(client_secrets).where(
                client_secrets.c.client_id == client.id).values(
                digest=_old_style_secret_digest(SECRET_KEY.encode(), client.secret),
                key_id=None))

    run(http, work)


def _old_token_for(http: TestClient, client: Registered) -> str:
    now_us = int(http.app.state.runtime.clock().timestamp() * 1_000_000)  # type: ignore[attr-defined]
    return _old_style_opaque(SECRET_KEY.encode(), [
        client.id, "", "oauth:readonly", str(now_us - 1_000_000), str(now_us + 600_000_000), ""])


def test_values_made_before_the_ring_keep_working_with_the_same_single_key(
        http: TestClient) -> None:
    svc = service(http, "opaque")
    _store_old_style_secret(http, svc)
    old = _old_token_for(http, svc)
    assert token(http, svc)  # the pre-ring digest, key id NULL, checks as before
    assert _secret_row(http, svc.id)[1] is None  # same key: no write, nothing to re-key
    assert _active(http, svc, old)
    assert http.get("/api/v2/oauth/clients", headers={
        "Authorization": f"Bearer {old}"}).status_code == 200


def test_values_made_before_the_ring_stop_when_the_old_key_leaves(settings: Settings) -> None:
    with serve(settings) as a:
        svc, other = service(a, "opaque"), service(a, "opaque")
        _store_old_style_secret(a, svc)
        _store_old_style_secret(a, other)
        old = _old_token_for(a, svc)
    with serve(_ring(settings, K2, single=SECRET_KEY)) as b:
        assert _active(b, svc, old)  # authenticates svc too: its NULL-key digest is re-keyed
        assert _secret_row(b, svc.id)[1] == "k2"
        _reseal(b)
    with serve(_ring(settings, K2)) as c:
        assert not _active(c, svc, old)
        assert c.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=other.basic_auth).status_code == 401


def test_a_forged_key_id_opens_nothing(http: TestClient) -> None:
    svc = service(http, "opaque")
    value = token(http, svc)
    kid = value.split(".")[0].removeprefix("ks2-")
    forged: dict[str, Any] = {
        "another key id": value.replace(f"ks2-{kid}.", "ks2-k9.", 1),
        "no key id": value.replace(f"ks2-{kid}.", "ks2-.", 1),
        "as a pre-ring token": value.replace(f"ks2-{kid}.", "ks1.", 1),
    }
    for what, bad in forged.items():
        assert not _active(http, svc, bad), what


def test_values_naming_a_key_not_in_the_ring_are_refused_cleanly(http: TestClient) -> None:
    web = code_client(http)
    unknown = "k9.Zm9yZ2VkLXZhbHVlLW5hbWluZy1hLWtleS1ub3QtaW4tdGhlLXJpbmc"
    refreshed = refresh(http, web, unknown)
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    exchanged = exchange(http, web, unknown)
    assert (exchanged.status_code, exchanged.json()["error"]) == (400, "invalid_grant")
    assert revoke(http, web, unknown).status_code == 200  # RFC 7009 §2.2: nothing revealed
    http.cookies.set(SESSION_COOKIE, unknown)
    assert not _signed_in(http)
