"""The SubjectDirectory port: one query per entity type, whatever the number of ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import Table, select

from keystead.domain.audit_subjects import Subject
from keystead.store.sql_store import SqlStore
from keystead.store.tables import clients, divisions, identity_providers, roles, users

TABLES: dict[str, Table] = {"OAuthClient": clients, "User": users, "Division": divisions,
                            "IdentityProvider": identity_providers}


# Where ids found in details are named (UUIDs: an id is in one table at most).
NAMED = (roles, divisions, users, clients)


class SqlSubjectDirectory(SqlStore):
    async def gone(self, subjects: set[Subject]) -> set[Subject]:
        asked: dict[str, set[str]] = defaultdict(set)
        for kind, subject_id in subjects:
            if kind in TABLES:
                asked[kind].add(subject_id)
        missing: set[Subject] = set()
        for kind, ids in asked.items():
            table = TABLES[kind]
            found = set((await self.conn.execute(
                select(table.c.id).where(table.c.id.in_(sorted(ids))))).scalars())
            missing |= {(kind, i) for i in ids - found}
        return missing

    async def names(self, ids: set[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        asked = sorted(ids)
        for table in NAMED:
            rows = await self.conn.execute(
                select(table.c.id, table.c.name).where(table.c.id.in_(asked)))
            found.update({row.id: row.name for row in rows})
        return found
