"""Audit entries past the policy's retention: written to a signed archive file, then removed.

An archive is JSON lines: a ``header`` (the checkpoint the archived run starts from), one
``entry`` per archived entry (every column, so it verifies as it did in the database), a
``checkpoint`` (the last archived entry's sequence and hash, and the erasure marks whose
erasure entry is still in the database) and a ``signature``: HMAC-SHA-256 over every line
before it, under a subkey of the server key ring, naming the ring key's id.

Why the key ring and not the token signing keys: a signing key is deleted once the tokens it
signed expire, and an archive must stay checkable for years; the ring's keys are what the
operator already keeps (an old key can stay in the ring, last, for as long as archives under
it matter). The cost: only someone holding the ring can check an archive's signature.

The head row then holds the checkpoint, and ``keystead audit verify`` walks the remaining
chain from it. Only a run of entries that verifies is archived: a broken chain is reported,
never laundered into a signed file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.keyring import KeyRing, Purpose
from keystead.store.audit import Checkpoint, StoredEvent, stored_event
from keystead.store.audit_verify import ChainWalk
from keystead.store.tables import ORG_ID, audit_events, audit_head

ARCHIVE_BATCH = 10_000  # entries per archive file (and per housekeeping transaction)
ARCHIVE_FORMAT = 1


class ArchiveRefusedError(Exception):
    """The entries due for archiving do not verify; the message says where."""


@dataclass(frozen=True, slots=True)
class Archived:
    path: Path
    entries: int
    checkpoint_seq: int


def _sign(ring: KeyRing, kid: str, body: bytes) -> str | None:
    key = ring.find(kid)
    if key is None:
        return None
    return hmac.new(key.subkey(Purpose.audit_archive), body, hashlib.sha256).hexdigest()


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n"


def _entry(stored: StoredEvent) -> dict[str, Any]:
    event = stored.event
    return {"type": "entry", "id": stored.id, "seq": stored.seq,
            "timestamp": event.timestamp.isoformat(timespec="microseconds"),
            "actorKind": event.actor_kind, "actorId": event.actor_id,
            "actorName": event.actor_name, "action": event.action,
            "entityType": event.entity_type, "entityId": event.entity_id,
            "entityName": event.entity_name, "result": str(event.result),
            "remoteIp": event.remote_ip, "details": event.details,
            "actorDivisions": list(event.actor_divisions), "requestId": event.request_id,
            "prevHash": stored.prev_hash, "hash": stored.hash, "format": stored.format,
            "personalSalt": stored.personal_salt, "personalDigest": stored.personal_digest,
            "erasedBy": stored.erased_by}


def _stored(line: dict[str, Any]) -> StoredEvent:
    return StoredEvent(line["id"], int(line["seq"]), AuditEvent(
        timestamp=datetime.fromisoformat(line["timestamp"]), actor_kind=line["actorKind"],
        actor_id=line["actorId"], actor_name=line["actorName"], action=line["action"],
        entity_type=line["entityType"], entity_id=line["entityId"],
        entity_name=line["entityName"], result=Result(line["result"]),
        remote_ip=line["remoteIp"], details=line["details"],
        actor_divisions=tuple(line["actorDivisions"]), request_id=line["requestId"]),
        line["prevHash"], line["hash"], int(line["format"]), line["personalSalt"],
        line["personalDigest"], line["erasedBy"])


def _write(path: Path, lines: Sequence[bytes]) -> None:
    """Write the file whole or not at all (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as file:
        file.writelines(lines)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


async def archive_before(conn: AsyncConnection, *, before: datetime, folder: Path,
                         ring: KeyRing, now: datetime) -> Archived | None:
    """Archive and remove the oldest entries written before ``before`` (one batch at most);
    None when none is due.

    Raises:
        ArchiveRefusedError: the entries due do not verify from the checkpoint.
    """
    oldest = (await conn.execute(select(audit_events.c.timestamp).where(
        audit_events.c.organization_id == ORG_ID).order_by(audit_events.c.seq).limit(1)
    )).scalar_one_or_none()
    if oldest is None or oldest >= before:
        return None  # the usual case, seen without taking the head's lock
    # Locks the head first (as appends do): one replica archives at a time, appends wait.
    head = (await conn.execute(
        update(audit_head).where(audit_head.c.organization_id == ORG_ID)
        .values(checkpoint_seq=audit_head.c.checkpoint_seq)
        .returning(audit_head.c.checkpoint_seq, audit_head.c.checkpoint_hash,
                   audit_head.c.checkpoint_erasures))).one()
    start = Checkpoint(int(head.checkpoint_seq), str(head.checkpoint_hash),
                       dict(head.checkpoint_erasures or {}))
    rows = await conn.execute(select(audit_events).where(
        audit_events.c.organization_id == ORG_ID, audit_events.c.seq > start.seq)
        .order_by(audit_events.c.seq).limit(ARCHIVE_BATCH))
    due: list[StoredEvent] = []
    for row in rows:
        if row.timestamp >= before:
            break  # only a run from the checkpoint: the chain left behind stays whole
        due.append(stored_event(row))
    if not due:
        return None
    walk = ChainWalk(start)
    for stored in due:
        walk.step(stored)
    if walk.problems:
        raise ArchiveRefusedError("; ".join(walk.problems))
    last = due[-1]
    lines = [_line({"type": "header", "format": ARCHIVE_FORMAT, "organizationId": ORG_ID,
                    "createdAt": now.isoformat(), "from": {
                        "seq": start.seq, "hash": start.hash, "erasures": start.erasures}})]
    lines += [_line(_entry(stored)) for stored in due]
    carry = walk.carry()
    lines.append(_line({"type": "checkpoint", "seq": last.seq, "hash": last.hash,
                        "erasures": carry}))
    kid = ring.current.kid
    lines.append(_line({"type": "signature", "alg": "HMAC-SHA256", "kid": kid,
                        "value": _sign(ring, kid, b"".join(lines))}))
    path = folder / f"audit-{due[0].seq:012d}-{last.seq:012d}.jsonl"
    _write(path, lines)
    await conn.execute(delete(audit_events).where(
        audit_events.c.organization_id == ORG_ID, audit_events.c.seq <= last.seq))
    await conn.execute(update(audit_head).where(audit_head.c.organization_id == ORG_ID).values(
        checkpoint_seq=last.seq, checkpoint_hash=last.hash, checkpoint_erasures=carry))
    return Archived(path, len(due), last.seq)


@dataclass(frozen=True, slots=True)
class ArchiveCheck:
    problems: list[str]
    start: Checkpoint | None = None
    end: Checkpoint | None = None


def verify_archive(path: Path, ring: KeyRing) -> ArchiveCheck:
    """Check an archive file: its signature, its entries' chain from its header's checkpoint,
    and its closing checkpoint. Never raises on a bad file: every fault is a problem line."""
    try:
        raw = path.read_bytes().splitlines(keepends=True)
        lines = [json.loads(line) for line in raw]
    except (OSError, ValueError) as exc:
        return ArchiveCheck([f"{path}: cannot be read as JSON lines ({exc})"])
    if len(lines) < 3 or [lines[0].get("type"), lines[-2].get("type"),
                          lines[-1].get("type")] != ["header", "checkpoint", "signature"]:
        return ArchiveCheck([f"{path}: not an audit archive (header, entries, checkpoint, "
                             "signature)"])
    problems: list[str] = []
    signature = lines[-1]
    expected = _sign(ring, str(signature.get("kid")), b"".join(raw[:-1]))
    if expected is None:
        problems.append(f"{path}: signed with key {signature.get('kid')!r}, which is not in "
                        "the server key ring")
    elif not hmac.compare_digest(expected, str(signature.get("value"))):
        problems.append(f"{path}: the signature does not match (the file was changed)")
    try:
        origin = lines[0]["from"]
        start = Checkpoint(int(origin["seq"]), str(origin["hash"]), dict(origin["erasures"]))
        walk = ChainWalk(start)
        for line in lines[1:-2]:
            walk.step(_stored(line))
        closing = lines[-2]
        end = Checkpoint(int(closing["seq"]), str(closing["hash"]), dict(closing["erasures"]))
    except (KeyError, TypeError, ValueError) as exc:
        return ArchiveCheck([*problems, f"{path}: a line is malformed ({exc})"])
    problems += [f"{path}: {problem}" for problem in walk.problems]
    if (end.seq, end.hash) != (walk.expected_seq - 1, walk.expected_prev):
        problems.append(f"{path}: the checkpoint does not match the last entry")
    if end.erasures != walk.carry():
        problems.append(f"{path}: the checkpoint's erasure marks do not match the entries")
    return ArchiveCheck(problems, start, end)
