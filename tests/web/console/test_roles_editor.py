"""The roles editor as served (issue 14 §2), before any script runs: every permission listed,
grouped by domain with how many of each are chosen; the search box waits for the script."""

from __future__ import annotations

import re

from keystead.domain.permissions import CATALOGUE
from tests.people import Console, csrf_of


def _counts(page: str) -> dict[str, str]:
    """Each domain's legend: its name and its "n of m chosen"."""
    return dict(re.findall(r"<legend>([\w ]+?) <span class=\"perm-count muted\" "
                           r"data-perm-count>(\d+ of \d+ chosen)</span></legend>", page))


def test_every_permission_is_listed_by_domain_with_counts(console: Console) -> None:
    page = console.http.get("/admin/roles/new").text
    assert '<div class="perm-search" data-perm-search hidden>' in page  # only with the script
    counts = _counts(page)
    assert list(counts) == list(CATALOGUE)
    for domain, entities in CATALOGUE.items():
        total = sum(1 + len(actions) for actions in entities.values())  # each entity's "*" too
        assert counts[domain] == f"0 of {total} chosen"
        for entity, actions in entities.items():
            for action in actions:
                assert f'value="{domain}:{entity}:{action}"' in page


def test_counts_follow_the_saved_role(console: Console) -> None:
    form = console.http.get("/admin/roles/new")
    saved = console.http.post("/admin/roles/new", data={
        "name": "Readers", "permissions": ["oauth:client:view", "oauth:scope:view",
                                           "audits:audit:view"],
        "csrf_token": csrf_of(form.text)})
    assert saved.status_code == 200, saved.text
    counts = _counts(saved.text)
    assert counts["oauth"].startswith("2 of ")
    assert counts["audits"] == "1 of 2 chosen"
    assert counts["authorization"].startswith("0 of ")
