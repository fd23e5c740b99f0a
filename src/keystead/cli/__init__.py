"""The ``keystead`` command: thin commands over the same use cases the API calls.

One module per command group: ``server`` (init, backup, serve, health), ``clients``
(bootstrap-client, clients …; ``deactivations`` adds the planned-deactivation commands),
``users`` (``user_data`` adds export and erase), ``keys``, ``secret_keys``, ``audit``,
``governance`` (with ``deletion_requests``, ``governance_findings`` and ``governance_alerts``),
``reviews`` and ``webhooks``; ``run`` holds what they share.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from keystead.cli import (
    audit,
    audit_query,
    catalog,
    clients,
    deactivations,
    deletion_requests,
    governance,
    governance_alerts,
    governance_findings,
    keys,
    login,
    remote,
    reviews,
    secret_delivery,
    secret_keys,
    server,
    user_data,
    users,
    webhooks,
)
from keystead.cli.help_types import install as readable_help_types
from keystead.cli.remote import Connection
from keystead.config import Settings

readable_help_types()
app = typer.Typer(no_args_is_help=True, add_completion=True)
users.users_app.command("export")(user_data.users_export)
users.users_app.command("erase")(user_data.users_erase)
clients.clients_app.command("plan-deactivation")(deactivations.plan_deactivation)
clients.clients_app.command("deactivations")(deactivations.deactivations)
clients.clients_app.command("cancel-deactivation")(deactivations.cancel_deactivation)
clients.clients_app.command("set-secret-destination")(secret_delivery.set_secret_destination)
clients.clients_app.command("secret-destination")(secret_delivery.secret_destination)
clients.clients_app.command("remove-secret-destination")(
    secret_delivery.remove_secret_destination)
app.add_typer(clients.clients_app, name="clients")
app.add_typer(users.users_app, name="users")
app.add_typer(catalog.scopes_app, name="scopes")
app.add_typer(catalog.roles_app, name="roles")
app.add_typer(catalog.divisions_app, name="divisions")
audit.audit_app.command("query")(audit_query.audit_query)
audit.audit_app.command("export")(audit_query.audit_export)
audit.audit_app.command("tail")(audit_query.audit_tail)
app.add_typer(audit.audit_app, name="audit")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(secret_keys.ring_app, name="secret-keys")
governance.governance_app.add_typer(deletion_requests.deletion_requests_app,
                                    name="deletion-requests")
governance.governance_app.add_typer(governance_findings.findings_app, name="findings")
governance.governance_app.add_typer(governance_alerts.alerts_app, name="alerts")
app.add_typer(governance.governance_app, name="governance")
app.add_typer(reviews.reviews_app, name="reviews")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.command()(server.init)
app.command()(server.backup)
app.command()(server.serve)
app.command()(server.health)
app.command("bootstrap-client")(clients.bootstrap_client)
app.command()(login.login)

__all__ = ["app"]


@app.callback()
def _connect(
    server: Annotated[str | None, typer.Option(
        metavar="URL", help="Run remotely against this server's API (or KEYSTEAD_SERVER)")]
    = None,
    profile: Annotated[str | None, typer.Option(
        metavar="NAME", help="Run remotely with a profile from `keystead login` (or "
                             "KEYSTEAD_PROFILE)")] = None,
    client_id: Annotated[str | None, typer.Option(
        metavar="CLIENT-ID", help="Sign in remotely as this client (or KEYSTEAD_CLIENT_ID; its "
                                  "secret from KEYSTEAD_CLIENT_SECRET or the profile)")] = None,
) -> None:
    """Keystead: OAuth 2.0 authorization server with governed client management.

    Commands run locally, on the store as the operator, unless a server or profile is named:
    then remotely, through the management API as the signed-in client.
    """
    remote.connection.set(Connection(server=server, profile=profile, client_id=client_id))
    if remote.named_server() is None:
        _check_settings()


def _check_settings() -> None:
    """Refuse to start on malformed settings with the rule broken, never a traceback."""
    try:
        Settings()
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: invalid setting: {where} {message}" if where
                       else f"error: {message}", err=True)
        raise typer.Exit(code=1) from None
