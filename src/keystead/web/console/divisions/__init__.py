"""Console pages for divisions: the list, adding one, and a division's page (change, delete).

Changes go through ``DivisionManagement`` (the API's rules and audit); a division still in
use cannot be deleted, and the page says why.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.divisions import pages
from keystead.web.console.pages import area_routes

routes: list[Route] = area_routes(
    "/admin/divisions", listing=pages.divisions_list, new_form=pages.division_new_form,
    create=pages.division_create, view=pages.division_page, change=pages.division_update,
    actions={"delete": pages.division_delete})
