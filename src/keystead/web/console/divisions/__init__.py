"""Console pages for divisions: the list, adding one, and a division's page (change, delete).

Changes go through ``OrganizationManagement`` (the API's rules and audit); a division still in
use cannot be deleted, and the page says why.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.divisions import pages
from keystead.web.console.pages import route

BASE = "/admin/divisions"

routes: list[Route] = [
    route(BASE, pages.divisions_list),
    route(f"{BASE}/new", pages.division_new_form),
    route(f"{BASE}/new", pages.division_create, methods=("POST",)),
    route(BASE + "/{id:entity}", pages.division_page),
    route(BASE + "/{id:entity}", pages.division_update, methods=("POST",)),
    route(BASE + "/{id:entity}/delete", pages.division_delete, methods=("POST",)),
]
