"""Console pages for divisions: the list, adding one, and a division's page (change, delete).

Changes go through ``DivisionManagement`` (the API's rules and audit); a division still in
use cannot be deleted, and the page says why.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.domain.permissions import Permission
from keystead.web.console.divisions import pages
from keystead.web.console.pages import entity_routes

routes: list[Route] = entity_routes(
    "/admin/divisions", listing=pages.divisions_list, show=pages.division_view,
    save=pages.division_save, may_add=Permission.AUTHORIZATION_DIVISION_ADD,
    actions={"delete": pages.division_delete})
