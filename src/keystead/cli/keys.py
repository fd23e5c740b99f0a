"""`keystead keys ...`: the signing keys of JWT access tokens and ID tokens."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.run import fail, run_with_runtime
from keystead.domain.audit import AuditEvent
from keystead.domain.principal import Caller
from keystead.protocol.keys import PUBLISH_DELAY, StoredKey, generate_key
from keystead.store.audit import SqlAuditLog
from keystead.store.keys import SqlSigningKeys
from keystead.web.runtime import Runtime, utc_now

keys_app = typer.Typer(help="Signing keys (JWT access tokens, ID tokens).", no_args_is_help=True)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key: published now, signing in 5 minutes, the old one kept until its
    last token expires."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> tuple[str, str]:
        key = generate_key(runtime.cipher)
        now = utc_now()
        retire = await SqlSigningKeys(conn).rotate(key, now=now)
        await SqlAuditLog(conn).append(AuditEvent(
            timestamp=now, actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action="key.rotate", entity_type="SigningKey",
            entity_id=key.kid, entity_name=key.kid, actor_divisions=caller.divisions,
            details={"previousRetireAfter": retire.isoformat()}))
        return key.kid, retire.isoformat()

    kid, retire = run_with_runtime(work)
    typer.echo(f"new signing key {kid}: signs from {PUBLISH_DELAY} from now on every replica; "
               f"previous keys stay published until {retire}")


@keys_app.command("list")
def keys_list() -> None:
    """Every stored key: when it was made, until when it stays published."""

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> list[StoredKey]:
        return await SqlSigningKeys(conn).all()

    now = utc_now()
    keys = run_with_runtime(work)
    if not keys:
        fail("no signing key; run `keystead init`")
    for key in keys:
        state = "published" if key.retire_after is None or key.retire_after > now else "retired"
        until = f" until {key.retire_after.isoformat()}" if key.retire_after else ""
        typer.echo(f"{key.kid}  created {key.date_created.isoformat()}  {state}{until}")

