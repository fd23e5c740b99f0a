"""Running a rotation with delivery across its transactions (``domain/secret_rotation.py``):
stage and commit, deliver outside any transaction, then start the window or undo; and the
scheduled rotations of every due client. The API, the console, the CLI and the secret-rotation
loop all go through here."""

from __future__ import annotations

import logging
from datetime import datetime

from keystead.domain.clients import Client
from keystead.domain.principal import Caller
from keystead.domain.secret_delivery import DeliveryFailedError, Staged, deliver
from keystead.domain.secret_rotation import scheduler
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead")


async def record_failure(runtime: Runtime, caller: Caller, client_id: str,
                         error: DeliveryFailedError, *, seen: datetime | None = None) -> bool:
    """Audit a delivery that failed before anything was staged, in its own transaction (a
    scheduled one once, by the replica that claims it): whether this call did."""
    async with runtime.transaction() as conn:
        recorded = await runtime.secret_delivery(conn).record_failure(caller, client_id, error,
                                                                     seen=seen)
    if recorded:
        log.warning("secret delivery for client %s failed: %s", client_id, error.message)
    return recorded


async def complete(runtime: Runtime, caller: Caller, staged: Staged) -> Client:
    """Deliver a staged (committed) rotation and verify it, then start the previous secret's
    window; or undo the rotation and audit why. Raises: DeliveryFailedError."""
    try:
        await deliver(staged)
    except DeliveryFailedError as exc:
        async with runtime.transaction() as conn:
            await runtime.secret_delivery(conn).abandon(caller, staged, exc)
        log.warning("secret delivery for client %s failed: %s", staged.client_id, exc.message)
        raise
    async with runtime.transaction() as conn:
        return await runtime.secret_delivery(conn).commit(caller, staged)


async def deliver_new_secret(runtime: Runtime, caller: Caller, client_id: str, *,
                             dual_use_seconds: int) -> Client:
    """Rotate ``client_id``'s secret into its destination, all three steps.

    Raises: DeliveryFailedError (audited; nothing changed), and what ``stage`` raises.
    """
    try:
        async with runtime.transaction() as conn:
            staged = await runtime.secret_delivery(conn).stage(
                caller, client_id, dual_use_seconds=dual_use_seconds)
    except DeliveryFailedError as exc:
        await record_failure(runtime, caller, client_id, exc)
        raise
    return await complete(runtime, caller, staged)


async def rotate_due(runtime: Runtime) -> tuple[int, int]:
    """Rotate and deliver every client whose scheduled rotation is due (one failing delivery
    holds up no other); return how many were delivered and how many failed (each counted once
    over the replicas)."""
    async with runtime.transaction() as conn:
        due = await runtime.secret_delivery(conn).due()
    rotated = failed = 0
    for client_id, seen in due:
        staged = None
        try:
            async with runtime.transaction() as conn:
                staged = await runtime.secret_delivery(conn).stage_scheduled(client_id, seen)
            if staged is not None:
                await complete(runtime, scheduler(), staged)
                rotated += 1
        except DeliveryFailedError as exc:
            if staged is not None:  # undone and audited by complete
                failed += 1
            elif await record_failure(runtime, scheduler(), client_id, exc, seen=seen):
                failed += 1  # failed while staging (its claim rolled back): claimed now
    return rotated, failed
