"""Console pages for users: the list, adding one, a user's page with its role grants, its links
to identity providers and its two-step verification.

Every change goes through the use cases the API calls (``UserManagement``,
``IdentityLinkManagement``), so it obeys the same rules and is audited with the signed-in user as
its actor; forms are saved with ``forms.submit`` (never re-showing a password).
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import route
from keystead.web.console.users import detail, grants, links, listing

BASE = "/admin/users"

routes: list[Route] = [
    route(BASE, listing.users_list),
    route(f"{BASE}/new", listing.user_new_form),
    route(f"{BASE}/new", listing.user_create, methods=("POST",)),
    route(BASE + "/{id:entity}", detail.user_page),
    route(BASE + "/{id:entity}", detail.user_update, methods=("POST",)),
    route(BASE + "/{id:entity}/grants", grants.grant_add, methods=("POST",)),
    route(BASE + "/{id:entity}/grants/remove", grants.grant_remove, methods=("POST",)),
    route(BASE + "/{id:entity}/mfa/reset", detail.mfa_reset, methods=("POST",)),
    route(BASE + "/{id:entity}/identity-providers", links.idp_link, methods=("POST",)),
    route(BASE + "/{id:entity}/identity-providers/remove", links.idp_unlink,
          methods=("POST",)),
    route(BASE + "/{id:entity}/delete", detail.user_delete, methods=("POST",)),
]
