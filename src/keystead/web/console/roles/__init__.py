"""Console pages for roles: the list, adding one, and a role's page (change, delete).

Changes go through ``RoleManagement`` (the API's rules and audit); a role that grants
permissions the signed-in user lacks is shown but cannot be changed by them.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import area_routes
from keystead.web.console.roles import pages

routes: list[Route] = area_routes(
    "/admin/roles", listing=pages.roles_list, new_form=pages.role_new_form,
    create=pages.role_create, view=pages.role_page, change=pages.role_update,
    actions={"delete": pages.role_delete})
