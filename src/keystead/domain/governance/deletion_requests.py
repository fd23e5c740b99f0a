"""Deletion with approval (the seed's "approval process recommended").

With the policy's ``deletionApproval`` on, deleting a client only files a request; a second
admin who holds ``oauth:client:delete`` and is not the requester approves it (the client is
deleted then, by the approver) or rejects it with a reason. A request left undecided expires
after ``deletionRequestTtlDays``. Every step is audited and tells the people concerned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.client_management import ENTITY as CLIENT_ENTITY
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Actor, Client
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    require_found,
)
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.governance.policy import PolicyStore
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

ENTITY = "DeletionRequest"
MAX_REASON = 1_000


class RequestState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"  # never stored: a pending request past its expiry reads as expired


@dataclass(frozen=True, slots=True)
class DeletionRequest:
    id: str
    client_id: str
    client_name: str
    requested_by: Actor
    requested_at: datetime
    expires_at: datetime
    state: RequestState = RequestState.pending
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    reason: str = ""

    def as_of(self, now: datetime) -> DeletionRequest:
        """The request as it stands at ``now`` (a pending one past its expiry is expired)."""
        if self.state is RequestState.pending and self.expires_at <= now:
            return replace(self, state=RequestState.expired)
        return self


class DeletionRequestStore(Protocol):
    async def add(self, request: DeletionRequest) -> None: ...
    async def find(self, request_id: str) -> DeletionRequest | None: ...
    async def pending_for(self, client_id: str, *, now: datetime) -> DeletionRequest | None:
        """The client's unexpired pending request, if any."""
    async def search(self, page: Page, *, client_id: str | None = None,
                     state: RequestState | None = None, now: datetime
                     ) -> tuple[Sequence[DeletionRequest], int]:
        """Newest first (``state`` as of ``now``: expired means pending past expiry)."""
    async def decide(self, request: DeletionRequest) -> bool:
        """Store the decision if the request is still pending; False if another came first."""


def _scheduler() -> Caller:
    """Who files the request when a scheduled deletion comes due (audited under this name)."""
    return Caller(Actor("system", "scheduler", "scheduled deletion"), frozenset(),
                  frozenset({Permission.OAUTH_CLIENT_DELETE}))


def _entity(request: DeletionRequest) -> Entity:
    return Entity(ENTITY, request.id, request.client_name)


def describe(request: DeletionRequest) -> dict[str, JSONValue]:
    return {"id": request.id, "clientId": request.client_id, "expiresAt":
            request.expires_at.isoformat(), "requestedBy": request.requested_by.id}


@dataclass(slots=True)
class ClientDeletion:
    """``DELETE`` of a client, under the organisation's policy."""

    management: ClientManagement
    requests: DeletionRequestStore
    policies: PolicyStore
    auditor: Auditor
    notifier: Notifier

    async def delete(self, caller: Caller, client_id: str) -> DeletionRequest | None:
        """Delete at once (policy off: None), or file a request (policy on: the request).

        A second request for a client with a pending one returns that one unchanged.

        Raises:
            ForbiddenError: without ``oauth:client:delete``.
            NotFoundError: no such client.
        """
        policy = await self.policies.find()
        if not policy.deletion_approval:
            await self.management.delete(caller, client_id)
            return None
        client = await self.management.find(caller, client_id,
                                            permission=Permission.OAUTH_CLIENT_DELETE)
        now = self.management.clock()
        if existing := await self.requests.pending_for(client_id, now=now):
            return existing
        return await self._file(caller, client, caller.actor, policy.deletion_request_ttl_days)

    async def purge_due(self) -> int:
        """Housekeeping's scheduled deletions (``dateToDelete`` passed): done at once with the
        policy off; with ``deletionApproval`` on, each is a request in the name of whoever
        scheduled it, so a second admin approves it like any other deletion."""
        if not (await self.policies.find()).deletion_approval:
            return await self.management.purge_due()
        for client in await self.management.clients.due_for_deletion(self.management.clock()):
            assert client.settings.date_to_delete is not None  # noqa: S101 - what "due" means
            await self.may_delete(client.id, scheduled_by=client.modified_by,
                                  since=client.settings.date_to_delete)
        return 0

    async def may_delete(self, client_id: str, *, scheduled_by: Actor, since: datetime
                         ) -> bool:
        """A scheduled end reached ``client_id`` at ``since``: True when it may be deleted now
        (the policy asks no approval). Otherwise a request is filed in the name of whoever
        scheduled it, once: none while one is pending, and none after one was decided or
        expired since then (the decision stands; a ``DELETE`` files a new one)."""
        policy = await self.policies.find()
        if not policy.deletion_approval:
            return True
        client = await self.management.clients.find(client_id)
        if client is None:
            return False
        asked, _ = await self.requests.search(Page(1, 100), client_id=client_id,
                                              now=self.management.clock())
        if not any(r.requested_at >= since or r.state is RequestState.pending for r in asked):
            await self._file(_scheduler(), client, scheduled_by,
                             policy.deletion_request_ttl_days)
        return False

    async def _file(self, caller: Caller, client: Client, requester: Actor,
                    ttl_days: int) -> DeletionRequest:
        now = self.management.clock()
        request = DeletionRequest(
            id=str(uuid.uuid4()), client_id=client.id, client_name=client.settings.name,
            requested_by=requester, requested_at=now,
            expires_at=now + timedelta(days=ttl_days))
        await self.requests.add(request)
        details = describe(request)
        await self.auditor.record(caller, "deletion.request", _entity(request), details)
        await self.auditor.record(caller, "deletion.request", Entity(
            CLIENT_ENTITY, client.id, client.settings.name), details)
        await self._tell(client, request, NoticeKind.deletion_requested,
                         f"Deletion of OAuth client {client.settings.name!r} requested",
                         f"{_who(requester)} asked to delete the OAuth client "
                         f"{client.settings.name!r} ({client.id}). It stays until a second "
                         f"admin approves; the request expires at "
                         f"{request.expires_at:%Y-%m-%d %H:%M} UTC.", caller=caller)
        return request

    async def approve(self, caller: Caller, request_id: str) -> DeletionRequest:
        """Delete the client as ``caller`` and close the request.

        Raises:
            ForbiddenError: without ``oauth:client:delete``, or the caller filed the request.
            ConflictError: the request is decided or expired.
            NotFoundError: no such request (or its client is gone).
        """
        request = await self._open(caller, request_id)
        # By kind and id: a requester who renamed themselves is still the requester.
        mine = (request.requested_by.kind, request.requested_by.id)
        if mine == (caller.actor.kind, caller.actor.id):
            raise ForbiddenError(
                "a deletion needs a second admin: you requested it, so another admin holding "
                "oauth:client:delete must approve it")
        client = await self.management.find(caller, request.client_id,
                                            permission=Permission.OAUTH_CLIENT_DELETE)
        decided = await self._decide(caller, request, RequestState.approved, "")
        await self.management.delete(caller, request.client_id)
        await self._tell(client, decided, NoticeKind.deletion_approved,
                         f"OAuth client {client.settings.name!r} deleted",
                         f"{_who(caller.actor)} approved the deletion of the OAuth client "
                         f"{client.settings.name!r} ({client.id}) requested by "
                         f"{_who(request.requested_by)}. It is deleted.", caller=caller)
        return decided

    async def reject(self, caller: Caller, request_id: str, reason: str) -> DeletionRequest:
        """Close the request; the client stays. The requester may withdraw their own this way.

        Raises:
            InvalidInputError: no reason, or one over 1,000 characters.
            ForbiddenError, ConflictError, NotFoundError: as ``approve``.
        """
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise InvalidInputError.one("reason", "required",
                                        f"say why the deletion is rejected (1 to {MAX_REASON} "
                                        "characters)")
        request = await self._open(caller, request_id)
        decided = await self._decide(caller, request, RequestState.rejected, reason)
        client = await self.management.clients.find(request.client_id)
        if client is not None:
            await self._tell(client, decided, NoticeKind.deletion_rejected,
                             f"Deletion of OAuth client {client.settings.name!r} rejected",
                             f"{_who(caller.actor)} rejected the deletion of the OAuth client "
                             f"{client.settings.name!r} ({client.id}): {reason}. The client "
                             "stays.", caller=caller)
        return decided

    async def list(self, caller: Caller, page: Page, *, client_id: str | None = None,
                   state: RequestState | None = None) -> tuple[Sequence[DeletionRequest], int]:
        """Raises: ForbiddenError without ``oauth:client:view``."""
        caller.require(Permission.OAUTH_CLIENT_VIEW)
        return await self.requests.search(page, client_id=client_id, state=state,
                                          now=self.management.clock())

    async def find(self, caller: Caller, request_id: str) -> DeletionRequest:
        """Raises: ForbiddenError without ``oauth:client:view``; NotFoundError."""
        caller.require(Permission.OAUTH_CLIENT_VIEW)
        request = require_found(await self.requests.find(request_id),
                                f"no deletion request with id {request_id}")
        return request.as_of(self.management.clock())

    async def pending_for(self, caller: Caller, client_id: str) -> DeletionRequest | None:
        """The client's pending request, for whoever may see the client (its owner too)."""
        await self.management.find(caller, client_id)
        return await self.requests.pending_for(client_id, now=self.management.clock())

    async def _open(self, caller: Caller, request_id: str) -> DeletionRequest:
        caller.require(Permission.OAUTH_CLIENT_DELETE)
        request = await self.find(caller, request_id)
        if request.state is RequestState.expired:
            raise ConflictError(f"deletion request {request_id} expired at "
                                f"{request.expires_at.isoformat()}; delete the client again "
                                "to file a new one")
        if request.state is not RequestState.pending:
            raise ConflictError(f"deletion request {request_id} is already {request.state}")
        return request

    async def _decide(self, caller: Caller, request: DeletionRequest, state: RequestState,
                      reason: str) -> DeletionRequest:
        decided = replace(request, state=state, decided_by=caller.actor,
                          decided_at=self.management.clock(), reason=reason)
        if not await self.requests.decide(decided):
            raise ConflictError(f"deletion request {request.id} was decided meanwhile")
        action = "deletion.approve" if state is RequestState.approved else "deletion.reject"
        details: dict[str, JSONValue] = {**describe(request), "state": str(state)}
        if reason:
            details["reason"] = reason
        await self.auditor.record(caller, action, _entity(request), details)
        return decided

    async def _tell(self, client: Client, request: DeletionRequest, kind: NoticeKind,
                    subject: str, body: str, *, caller: Caller) -> None:
        # The owner, the admins who may decide, and the requester when a user; the one who
        # acted knows already.
        requester = [request.requested_by.id] if request.requested_by.kind == "user" else []
        recipients = await self.notifier.recipients(
            owner_id=client.settings.owner_id, holders_of=Permission.OAUTH_CLIENT_DELETE,
            user_ids=requester)
        acting = caller.actor.id if caller.actor.kind == "user" else None
        await self.notifier.notify([r for r in recipients if r.user_id != acting],
                                   Message(kind, subject, body, client_id=client.id))


def _who(actor: Actor) -> str:
    label = actor.name or actor.id
    return f"{actor.kind} {label}"
