"""Setting up, serving, checking and backing up a deployment: init, serve, health, backup."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from redis.asyncio import Redis

from keystead.cli import exit_codes
from keystead.cli.remote import named_server
from keystead.cli.run import fail, out
from keystead.config import ISSUER_VARIABLE, WILDCARD_HOSTS, Settings, serve_issuer
from keystead.log_setup import configure_logging, uvicorn_log_config
from keystead.protocol.keys import generate_key, key_cipher
from keystead.store.backup import BackupError, backup_sqlite
from keystead.store.database import create_engine, sqlite_path
from keystead.store.health import DatabaseProbe
from keystead.store.migrate import head_revision, upgrade
from keystead.store.seed import seed
from keystead.web.readiness import Readiness
from keystead.web.runtime import NotInitialisedError, build_runtime, utc_now

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_SERVER = "http://127.0.0.1:8000"
serve_log = logging.getLogger("keystead.serve")
WORKER_STARTUP_SECONDS = 60


def init() -> None:
    """Create or upgrade the schema and seed the built-ins (idempotent)."""
    settings = Settings().with_secret_key()
    url = settings.resolved_database_url
    upgrade(url)

    async def main() -> list[str]:
        engine = create_engine(url)
        cipher = key_cipher(settings.key_ring())
        try:
            async with engine.begin() as conn:
                return await seed(conn, now=utc_now(), make_key=lambda: generate_key(cipher))
        finally:
            await engine.dispose()

    added = asyncio.run(main())
    typer.echo(f"database ready ({len(added)} built-ins added)")


def backup(destination: Annotated[Path, typer.Argument(help="a new file for the copy")],
           as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")]
           = False) -> None:
    """Copy the embedded SQLite database to a new file while the server keeps serving.

    For PostgreSQL use pg_dump (README, "Backups and restores"). The copy does not hold the
    server key: keep KEYSTEAD_SECRET_KEY (or data_dir/secret.key) backed up apart from it.
    """
    settings = Settings()
    source = sqlite_path(settings.resolved_database_url)
    if source is None:
        fail("`keystead backup` copies the embedded SQLite store; for PostgreSQL run "
              "pg_dump --format=custom (see the README's \"Backups and restores\")")
        return
    try:
        report = backup_sqlite(source, destination,
                               busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
    except BackupError as exc:
        fail(str(exc))
        return
    if as_json:
        out({"destination": str(report.destination), "schemaRevision": report.schema_revision,
              "bytes": report.bytes_written, "clients": report.clients,
              "auditEvents": report.audit_events})
    else:
        typer.echo(f"backed up to {report.destination}: schema {report.schema_revision}, "
                   f"{report.clients} clients, {report.audit_events} audit entries, "
                   f"{report.bytes_written:,} bytes")


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: Annotated[str | None, typer.Option(
              help="Overrides KEYSTEAD_LOG_LEVEL (default INFO).")] = None) -> None:
    """Serve the API and the protocol endpoints.

    The issuer (and so every URL discovery advertises) is KEYSTEAD_ISSUER, or else
    http://HOST:PORT: where this server listens. Logs go to stderr as JSON lines (text on a
    terminal; KEYSTEAD_LOG_FORMAT=auto|json|text), one access line per request at INFO.
    uvicorn's own access log stays off: it prints the query string, which can hold an
    authorization code.
    """
    try:
        settings = Settings() if log_level is None else Settings(log_level=log_level)
    except ValidationError as exc:
        fail(f"invalid setting: {exc.errors()[0]['loc'][0]} {exc.errors()[0]['msg']}")
        raise  # unreachable: fail exits
    # The workers build their own Settings from the environment.
    os.environ["KEYSTEAD_LOG_LEVEL"] = settings.log_level
    configure_logging(settings.log_level, settings.log_format)
    issuer, configured = serve_issuer(host, port)
    if not configured:
        # The workers build their settings from the environment: hand them the issuer there.
        os.environ[ISSUER_VARIABLE] = issuer
        if host.strip("[]") in WILDCARD_HOSTS:
            serve_log.warning("listening on every interface, the issuer is %s; set %s to the "
                              "URL clients use to reach this server", issuer, ISSUER_VARIABLE)
    serve_log.info("issuer: %s", issuer)
    # X-Forwarded-For is believed only from the configured proxies, walked from the right
    # (uvicorn's ProxyHeadersMiddleware): the address throttling and the audit log see.
    trusted = settings.trusted_proxies.strip()
    # Several workers count metrics into files in one directory, which every worker must know
    # before it first imports prometheus_client: a fresh one per run (stale files would count
    # again), unless the operator chose one.
    own_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="keystead-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    # A worker that has not started within uvicorn's health-check timeout (5 s by default) is
    # killed and replaced, for ever, on a loaded host: give start-up more time where supported.
    patience: dict[str, Any] = (
        {"timeout_worker_healthcheck": WORKER_STARTUP_SECONDS}
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters else {})
    try:
        uvicorn.run("keystead.web.asgi:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level=settings.log_level.lower(),
                    access_log=False,
                    log_config=uvicorn_log_config(settings.log_level, settings.log_format),
                    proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
                    **patience)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def health(
    url: Annotated[str | None, typer.Option(
        metavar="URL", help="The server to ask (default: the remote server when one is named, "
                            "else http://127.0.0.1:8000)")] = None,
    timeout: Annotated[float, typer.Option(metavar="SECONDS",
                                           help="Seconds to wait for its answer")] = 5.0,
) -> None:
    """Ask a running server whether it is ready (GET /health/ready) and print its report.

    Exit status 0: ready; 1: not ready (the report says why); 3: the server did not answer;
    locally the report then holds what this command could check itself (database, schema,
    signing key, Redis; not the server's background loops).
    """
    remote_server = named_server()
    url = url or remote_server or DEFAULT_SERVER
    status, report = _ask_ready(url.rstrip("/") + "/health/ready", timeout)
    if report is None:
        if remote_server is None:
            report = asyncio.run(local_readiness())
        else:  # remote mode: there may be no store here to check
            report = {"problems": [], "checks": {}}
        report["problems"].insert(0, f"server: no answer at {url} ({status})")
        report["status"] = "unreachable"
        out(report)
        raise typer.Exit(code=exit_codes.SERVER)
    out(report)
    raise typer.Exit(code=0 if status == "200" else 1)


def _ask_ready(url: str, timeout: float) -> tuple[str, dict[str, Any] | None]:
    """The status and JSON body of GET ``url``; (reason, None) when nothing usable came back."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL", None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - scheme checked
            return str(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            return str(exc.code), json.loads(exc.read())
        except ValueError:
            return f"HTTP {exc.code}", None
    except (OSError, ValueError) as exc:
        return type(exc).__name__, None


async def local_readiness() -> dict[str, Any]:
    """The checks this process can make itself, from the same settings the server reads."""
    settings = Settings().with_secret_key()
    probe = DatabaseProbe(settings.resolved_database_url,
                          timeout=settings.readiness_timeout_seconds)
    redis_url = settings.redis_url.get_secret_value()
    redis_client = Redis.from_url(redis_url, socket_timeout=settings.readiness_timeout_seconds,
                                  socket_connect_timeout=settings.readiness_timeout_seconds
                                  ) if redis_url else None
    has_key = False
    try:
        runtime = await build_runtime(settings)
    except NotInitialisedError:
        pass
    else:
        has_key = runtime.has_signing_key
        await runtime.close()
    try:
        report = await Readiness(
            probe=probe, expected_revision=head_revision(), signing_key_loaded=lambda: has_key,
            loops=[], redis_ping=redis_client.ping if redis_client is not None else None,
            timeout=settings.readiness_timeout_seconds).report()
    finally:
        await probe.close()
        if redis_client is not None:
            await redis_client.aclose()
    body = report.body()
    del body["checks"]["loops"]
    return body

