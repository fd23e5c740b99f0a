"""Console pages for roles: the list, adding one, and a role's page (change, delete).

Changes go through ``RoleManagement`` (the API's rules and audit); a role that grants
permissions the signed-in user lacks is shown but cannot be changed by them.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.domain.permissions import Permission
from keystead.web.console.pages import entity_routes
from keystead.web.console.roles import pages

routes: list[Route] = entity_routes(
    "/admin/roles", listing=pages.roles_list, show=pages.role_view, save=pages.role_save,
    may_add=Permission.AUTHORIZATION_ROLE_ADD, actions={"delete": pages.role_delete})
