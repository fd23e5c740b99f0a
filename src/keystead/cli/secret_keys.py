"""`keystead secret-keys ...`: the server key ring (KEYSTEAD_SECRET_KEYS)."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import fail, run_with_runtime
from keystead.config import Settings
from keystead.domain.audit import AuditEvent
from keystead.domain.keyring import KEY_ID_SHAPE, KeyRing, Purpose
from keystead.domain.principal import Caller
from keystead.domain.secrets import resealed, sealed_by
from keystead.store.audit import SqlAuditLog
from keystead.store.key_ring import Resealed, SqlKeyRingStore
from keystead.web.runtime import Runtime, utc_now

ring_app = typer.Typer(help="The server key ring (KEYSTEAD_SECRET_KEYS): digests, opaque tokens, "
                            "values encrypted at rest.", no_args_is_help=True)


@ring_app.command("new")
def ring_new(key_id: Annotated[str, typer.Option(
        "--id", help="The new key's id: 1 to 16 letters or digits (random when left out)")] = "",
) -> None:
    """Print a new ``kid:key`` entry for KEYSTEAD_SECRET_KEYS (see README: rotating the key)."""
    kid = key_id or secrets.token_hex(4)
    if not KEY_ID_SHAPE.fullmatch(kid):
        fail("--id must be 1 to 16 letters or digits")
    typer.echo(f"{kid}:{secrets.token_urlsafe(48)}")


def _ring_label(ring: KeyRing, kid: str | None) -> str:
    key = ring.find(kid)
    if key is None:
        return f"{kid or 'former single key'} (NOT IN THE RING: these stop working)"
    role = "current" if key is ring.current else "older"
    return f"{key.kid} ({role}{', former single key' if key.legacy else ''})"


@ring_app.command("status")
def ring_status() -> None:
    """The ring, and what each key still keys: client secrets, signing keys, TOTP secrets.

    An older key may leave the ring once nothing here names it and its tokens, codes, refresh
    tokens and console sessions have expired (README: rotating the server key)."""
    ring = Settings().with_secret_key().key_ring()

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> tuple[
            dict[str | None, int], list[str], list[str]]:
        store = SqlKeyRingStore(conn)
        return await store.secret_key_ids(), *await store.sealed()

    by_kid, signing, totp = run_with_runtime(work)
    for key in ring.keys:
        typer.echo(f"key {_ring_label(ring, key.kid)}")
    for kid, count in sorted(by_kid.items(), key=lambda kv: kv[0] or ""):
        typer.echo(f"client secrets under {_ring_label(ring, kid)}: {count}")
    for what, values, purpose in (("signing keys", signing, Purpose.signing_key_cipher),
                                  ("TOTP secrets", totp, Purpose.at_rest)):
        counts: dict[str | None, int] = {}
        for value in values:
            kid = sealed_by(ring, purpose, value)
            counts[kid] = counts.get(kid, 0) + 1
        for kid, count in counts.items():
            where = _ring_label(ring, kid) if kid else "no key of the ring (unreadable)"
            typer.echo(f"{what} encrypted under {where}: {count}")


@ring_app.command("reseal")
def ring_reseal() -> None:
    """Encrypt every signing key and TOTP secret again under the current ring key, so an older
    key can leave the ring without making them unreadable."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Resealed:
        done = await SqlKeyRingStore(conn).reseal(
            signing_key=lambda v: resealed(runtime.cipher, v), totp_secret=runtime.box.reseal)
        await SqlAuditLog(conn).append(AuditEvent(
            timestamp=utc_now(), actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action="secret-key.reseal", entity_type="ServerKey",
            entity_id=runtime.digester.current_kid, entity_name=runtime.digester.current_kid,
            details={"signingKeys": done.signing_keys, "totpSecrets": done.totp_secrets,
                     "unreadable": done.unreadable}))
        return done

    done = run_with_runtime(work)
    typer.echo(f"re-encrypted under the current key: {done.signing_keys} signing keys, "
               f"{done.totp_secrets} TOTP secrets")
    if done.unreadable:
        fail(f"{done.unreadable} values are encrypted under no key of the ring: put the key "
              "that made them back in the ring and run this again")

