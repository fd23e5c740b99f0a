"""Who and what an audit entry names, as people read it: the name (linked to the entity's page
where there is one), the id on hover and for screen readers, "(deleted)" for what is gone."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from markupsafe import Markup

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.audit_subjects import ACTOR_ENTITY, Subject

ENTITY_PAGES = {"OAuthClient": "/admin/integrations/oauth/", "User": "/admin/users/",
                "Division": "/admin/divisions/",
                "IdentityProvider": "/admin/identity-providers/"}


def named(kind: str, subject_id: str, name: str, *, deleted: bool = False,
          linked: bool = True) -> Markup:
    """``name`` with ``subject_id`` on hover and for screen readers; just the id if that is
    all there is. A link to the entity's page when ``linked``, it has one and is not
    ``deleted``."""
    if not subject_id:
        return Markup("{}").format(name or "(unknown)")
    if not name or name == subject_id:
        shown = Markup("<code>{}</code>").format(subject_id)
    else:
        shown = Markup('<span class="subject-name" title="{}">{}</span>'
                       '<span class="visually-hidden"> (id {})</span>').format(
            subject_id, name, subject_id)
    if deleted:
        return shown + Markup(' <span class="muted">(deleted)</span>')
    page = ENTITY_PAGES.get(kind) if linked else None
    if page is None:
        return shown
    return Markup('<a href="{}{}">{}</a>').format(page, quote(subject_id, safe=""), shown)


@dataclass(frozen=True, slots=True)
class Names:
    """How a page shows the actors and entities of its events; ``gone``: those deleted since
    (``AuditSubjects.gone``); ``known``: the names of the ids in their details and actor
    divisions."""

    gone: Collection[Subject] = frozenset()
    known: Mapping[str, str] = field(default_factory=dict)  # AuditSubjects.names

    def division(self, division_id: str) -> Markup:
        name = self.known.get(division_id, "")
        return named("Division", division_id, name, deleted=not name)

    def actor(self, e: AuditEvent) -> Markup:
        kind = ACTOR_ENTITY.get(e.actor_kind, "")
        return named(kind, e.actor_id, e.actor_name, deleted=(kind, e.actor_id) in self.gone,
                     linked=e.result is Result.success)

    def entity(self, e: AuditEvent) -> Markup:
        return named(e.entity_type, e.entity_id, e.entity_name,
                     deleted=(e.entity_type, e.entity_id) in self.gone,
                     linked=e.result is Result.success)
