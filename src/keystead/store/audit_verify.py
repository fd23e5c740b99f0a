"""Verifying the audit chain: in the database (`keystead audit verify`) and in an archive file.

Both walk entries in order with one ``ChainWalk``: it checks the links, each entry against its
hash in its format (domain/audit.py), the personal part of every entry not erased against its
digest, and each erasure's entry against the entries it marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keystead.domain.audit import (
    chain_hash,
    chain_hash_v2,
    erasure_digest,
    erasure_mark,
    personal_digest,
)
from keystead.domain.subject_rights import ERASE_ACTION
from keystead.store.audit import Checkpoint, SqlAuditLog, StoredEvent

EDITED = "contents do not match its hash (edited)"


def is_intact(stored: StoredEvent) -> bool:
    """Whether the entry's contents match its hash (and, unless erased, its personal digest)."""
    if stored.format == 1:
        # An erased format-1 entry cannot be recomputed: its erasure's digest vouches for it.
        return stored.erased_by is not None or chain_hash(
            stored.prev_hash, stored.seq, stored.event) == stored.hash
    digest = stored.personal_digest or ""
    if chain_hash_v2(stored.prev_hash, stored.seq, stored.event, digest) != stored.hash:
        return False
    return stored.erased_by is not None or (
        stored.personal_salt is not None
        and personal_digest(stored.event, stored.personal_salt) == digest)


@dataclass
class ChainWalk:
    """Walks entries in order from a checkpoint, collecting a line per break."""

    start: Checkpoint
    problems: list[str] = field(default_factory=list)
    expected_seq: int = 0
    expected_prev: str = ""
    # erasure id -> [entries marked, XOR of their marks], starting from the checkpoint's carry
    marks: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.expected_seq, self.expected_prev = self.start.seq + 1, self.start.hash
        self.marks = {key: [int(value["entries"]), int(value["digest"], 16)]
                      for key, value in self.start.erasures.items()}

    def step(self, stored: StoredEvent) -> None:
        if stored.seq != self.expected_seq:
            self.problems.append(f"entries {self.expected_seq}..{stored.seq - 1} are missing")
        if stored.prev_hash != self.expected_prev:
            self.problems.append(f"entry {stored.seq}: previous-hash link broken")
        if not is_intact(stored):
            self.problems.append(f"entry {stored.seq}: {EDITED}")
        if stored.erased_by is not None:
            count, folded = self.marks.get(stored.erased_by, [0, 0])
            self.marks[stored.erased_by] = [
                count + 1, folded ^ erasure_mark(stored.seq, stored.hash, stored.event)]
        if stored.event.action == ERASE_ACTION and isinstance(
                erasure := stored.event.details.get("erasure"), str):
            count, folded = self.marks.pop(erasure, [0, 0])
            if (count != stored.event.details.get("entries")
                    or erasure_digest([folded]) != stored.event.details.get("digest")):
                self.problems.append(f"entry {stored.seq}: the entries this erasure marked "
                                     "were changed, or others were marked as erased")
        self.expected_prev, self.expected_seq = stored.hash, stored.seq + 1

    def finish(self) -> list[str]:
        for erasure in sorted(self.marks):
            self.problems.append(f"entries are marked erased by {erasure}, which no erasure "
                                 "entry vouches for")
        return self.problems

    def carry(self) -> dict[str, Any]:
        """The marks whose erasure entry has not been seen yet, for a checkpoint."""
        return {key: {"entries": count, "digest": erasure_digest([folded])}
                for key, (count, folded) in self.marks.items()}


@dataclass(frozen=True, slots=True)
class ChainCheck:
    problems: list[str]
    checked: int  # entries walked (those after the checkpoint)


async def check_chain(log: SqlAuditLog) -> ChainCheck:
    """Walk the chain from its checkpoint once: a line per break (edited, removed or reordered
    entries, erasure marks no erasure accounts for), and how many entries were walked."""
    start = await log.checkpoint()
    walk = ChainWalk(start)
    async for stored in log.all_in_order():
        walk.step(stored)
    problems = walk.finish()
    head_seq, head_hash = await log.head()
    if head_seq != walk.expected_seq - 1 or head_hash != walk.expected_prev:
        problems.append(f"the newest entries after {walk.expected_seq - 1} are missing "
                        f"(head says {head_seq})")
    return ChainCheck(problems, walk.expected_seq - 1 - start.seq)


async def verify_chain(log: SqlAuditLog) -> list[str]:
    """The breaks ``check_chain`` finds."""
    return (await check_chain(log)).problems
