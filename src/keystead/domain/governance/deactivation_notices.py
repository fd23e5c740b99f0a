"""What a client's owner is told about its planned deactivation, through the notices (inbox and
e-mail, queued in the transaction of the change). Without an owner, the admins who may edit
clients are told instead, so a plan never passes unannounced."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.domain.clients import ClientStore
from keystead.domain.governance.deactivation import Planned
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.permissions import Permission


@dataclass(slots=True)
class NotifiedDeactivation:
    """The DeactivationNotices port over the Notifier."""

    notifier: Notifier
    clients: ClientStore

    async def scheduled(self, planned: Planned) -> None:
        plan = planned.plan
        instead = (f" Its replacement is {planned.replacement_name!r} ({plan.replacement_id})."
                   if plan.replacement_id else "")
        await self._tell(planned, Message(
            NoticeKind.deactivation_scheduled,
            f"OAuth client {planned.client_name!r} will be deactivated on {plan.date:%Y-%m-%d}",
            f"The OAuth client {planned.client_name!r} ({plan.client_id}) stops working at "
            f"{plan.date:%Y-%m-%d %H:%M} UTC: {plan.reason}.{instead} Move its users before "
            f"then. It is deleted at {planned.deletion_at:%Y-%m-%d %H:%M} UTC.",
            client_id=plan.client_id))

    async def reminder(self, planned: Planned) -> None:
        plan = planned.plan
        await self._tell(planned, Message(
            NoticeKind.deactivation_soon,
            f"OAuth client {planned.client_name!r} is deactivated on {plan.date:%Y-%m-%d}",
            f"Reminder: the OAuth client {planned.client_name!r} ({plan.client_id}) stops "
            f"working at {plan.date:%Y-%m-%d %H:%M} UTC: {plan.reason}.",
            client_id=plan.client_id))

    async def disabled(self, planned: Planned) -> None:
        plan = planned.plan
        await self._tell(planned, Message(
            NoticeKind.deactivation_done,
            f"OAuth client {planned.client_name!r} deactivated",
            f"The OAuth client {planned.client_name!r} ({plan.client_id}) was disabled as "
            f"planned ({plan.reason}); it is deleted at {planned.deletion_at:%Y-%m-%d %H:%M} "
            "UTC unless someone enables it before.", client_id=plan.client_id))

    async def cancelled(self, planned: Planned) -> None:
        await self._tell(planned, Message(
            NoticeKind.deactivation_cancelled,
            f"Deactivation of OAuth client {planned.client_name!r} cancelled",
            f"The OAuth client {planned.client_name!r} ({planned.plan.client_id}) is no longer "
            "planned to be deactivated.", client_id=planned.plan.client_id))

    async def _tell(self, planned: Planned, message: Message) -> None:
        client = await self.clients.find(planned.plan.client_id)
        owner = client.settings.owner_id if client is not None else None
        recipients = await self.notifier.recipients(owner_id=owner)
        if not recipients:
            recipients = await self.notifier.recipients(
                holders_of=Permission.OAUTH_CLIENT_EDIT)
        await self.notifier.notify(recipients, message)
