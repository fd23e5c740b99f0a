"""Console pages for roles: the list, adding one, and a role's page (change, delete).

Changes go through ``OrganizationManagement`` (the API's rules and audit); a role that grants
permissions the signed-in user lacks is shown but cannot be changed by them.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import route
from keystead.web.console.roles import pages

BASE = "/admin/roles"

routes: list[Route] = [
    route(BASE, pages.roles_list),
    route(f"{BASE}/new", pages.role_new_form),
    route(f"{BASE}/new", pages.role_create, methods=("POST",)),
    route(BASE + "/{id:entity}", pages.role_page),
    route(BASE + "/{id:entity}", pages.role_update, methods=("POST",)),
    route(BASE + "/{id:entity}/delete", pages.role_delete, methods=("POST",)),
]
