"""`keystead keys ...`: the signing keys of JWT access tokens and ID tokens."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.output import Column, JsonOption, emit_rows, field
from keystead.cli.remote import api
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
    last token expires. Local mode only: the API has no key management."""
    if api() is not None:
        stop("keys rotate runs locally, on a host with the server's settings (without --server "
             "or --profile)", exit_codes.USAGE)

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


KEY_COLUMNS: list[Column] = [("KID", field("kid")), ("STATE", field("state")),
                             ("CREATED", field("dateCreated")),
                             ("UNTIL", field("retireAfter"))]


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """Every key: when it was made, until when it stays published. Remotely: the keys the
    server publishes (its JWK Set), without those dates."""
    remote = api()
    if remote is not None:
        jwks = remote.http.get("/oauth/jwks")  # public: no sign-in needed
        if jwks.status_code != 200:
            stop(f"GET /oauth/jwks answered {jwks.status_code}",
                 exit_codes.for_status(jwks.status_code))
        rows = [{"kid": k.get("kid"), "state": "published", "alg": k.get("alg"),
                 "use": k.get("use")} for k in jwks.json().get("keys", [])]
        emit_rows(rows, KEY_COLUMNS, as_json=as_json)
        return

    async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> list[StoredKey]:
        return await SqlSigningKeys(conn).all()

    now = utc_now()
    keys = run_with_runtime(work)
    if not keys:
        fail("no signing key; run `keystead init`")
    emit_rows([{"kid": key.kid, "dateCreated": key.date_created.isoformat(),
                "state": ("published" if key.retire_after is None or key.retire_after > now
                          else "retired"),
                "retireAfter": key.retire_after.isoformat() if key.retire_after else None}
               for key in keys], KEY_COLUMNS, as_json=as_json)
