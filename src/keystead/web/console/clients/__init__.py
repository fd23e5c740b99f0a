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
    route(f"{BASE}/bulk", post=bulk.bulk),
    route(f"{BASE}/new", wizard.wizard_start, post=wizard.wizard),
    route(ID, detail.detail),
    route(f"{ID}/secret", secrets.show_secret),
    route(f"{ID}/edit", edit.edit_form, post=edit.edit),
    route(f"{ID}/regenerate", post=secrets.regenerate),
    route(f"{ID}/expire-previous", post=secrets.expire_previous),
    route(f"{ID}/deliver", post=delivery.deliver),
    route(f"{ID}/disable", post=detail.disable),
    route(f"{ID}/enable", post=detail.enable),
    route(f"{ID}/schedule-deletion", post=detail.schedule_deletion),
    route(f"{ID}/delete", post=detail.delete),
    route(f"{ID}/deactivation", post=deactivation.plan),
    route(f"{ID}/deactivation/cancel", post=deactivation.cancel),
]
