"""The ``keystead`` command: thin commands over the same use cases the API calls.

One module per command group: ``server`` (init, backup, serve, health), ``clients``
(bootstrap-client, clients …; ``deactivations`` adds the planned-deactivation commands),
``users``, ``keys``, ``secret_keys``, ``audit``, ``governance`` (with ``deletion_requests``,
``governance_findings`` and ``governance_alerts``) and ``reviews``; ``run`` holds what they share.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError

from keystead.cli import (
    audit,
    clients,
    deactivations,
    deletion_requests,
    governance,
    governance_alerts,
    governance_findings,
    keys,
    reviews,
    secret_delivery,
    secret_keys,
    server,
    users,
)
from keystead.config import Settings

app = typer.Typer(help="Keystead: OAuth 2.0 authorization server with governed client "
                       "management.", no_args_is_help=True)
clients.clients_app.command("plan-deactivation")(deactivations.plan_deactivation)
clients.clients_app.command("deactivations")(deactivations.deactivations)
clients.clients_app.command("cancel-deactivation")(deactivations.cancel_deactivation)
clients.clients_app.command("set-secret-destination")(secret_delivery.set_secret_destination)
clients.clients_app.command("secret-destination")(secret_delivery.secret_destination)
clients.clients_app.command("remove-secret-destination")(
    secret_delivery.remove_secret_destination)
app.add_typer(clients.clients_app, name="clients")
app.add_typer(users.users_app, name="users")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(secret_keys.ring_app, name="secret-keys")
governance.governance_app.add_typer(deletion_requests.deletion_requests_app,
                                    name="deletion-requests")
governance.governance_app.add_typer(governance_findings.findings_app, name="findings")
governance.governance_app.add_typer(governance_alerts.alerts_app, name="alerts")
app.add_typer(governance.governance_app, name="governance")
app.add_typer(reviews.reviews_app, name="reviews")
app.command()(server.init)
app.command()(server.backup)
app.command()(server.serve)
app.command()(server.health)
app.command("bootstrap-client")(clients.bootstrap_client)

__all__ = ["app"]


@app.callback()
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
