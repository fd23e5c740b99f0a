"""Console pages for OAuth clients: the list, the Add-client wizard, the secret shown once, a
client's page with its actions, and editing.

Every rule is the domain's: the wizard and the edit form ask ``ClientManagement.check`` and save
through it, so the console refuses exactly what the API refuses, and each problem is shown next
to the field it names (``form.py``). A new secret travels to the one page that shows it sealed
in the server-side session, and leaves the session as it is shown (``secrets.py``).
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.clients import (
    bulk,
    deactivation,
    delivery,
    detail,
    edit,
    listing,
    secrets,
    wizard,
)
from keystead.web.console.clients.presenters import BASE
from keystead.web.console.pages import route

ID = BASE + "/{id:entity}"

routes: list[Route] = [
    route(BASE, listing.list_clients),
    route(f"{BASE}/bulk", bulk.bulk, methods=("POST",)),
    route(f"{BASE}/new", wizard.wizard_start),
    route(f"{BASE}/new", wizard.wizard, methods=("POST",)),
    route(ID, detail.detail),
    route(f"{ID}/secret", secrets.show_secret),
    route(f"{ID}/edit", edit.edit_form),
    route(f"{ID}/edit", edit.edit, methods=("POST",)),
    route(f"{ID}/regenerate", secrets.regenerate, methods=("POST",)),
    route(f"{ID}/expire-previous", secrets.expire_previous, methods=("POST",)),
    route(f"{ID}/deliver", delivery.deliver, methods=("POST",)),
    route(f"{ID}/disable", detail.disable, methods=("POST",)),
    route(f"{ID}/enable", detail.enable, methods=("POST",)),
    route(f"{ID}/schedule-deletion", detail.schedule_deletion, methods=("POST",)),
    route(f"{ID}/delete", detail.delete, methods=("POST",)),
    route(f"{ID}/deactivation", deactivation.plan, methods=("POST",)),
    route(f"{ID}/deactivation/cancel", deactivation.cancel, methods=("POST",)),
]
