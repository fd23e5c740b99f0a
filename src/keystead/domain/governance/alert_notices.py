"""What people are told of a new alert: a notice (``alert.raised``) to the owner of its client,
else to those who act on alerts, in the transaction that raised it. The notice carries the
alert's summary and where to read it, never a secret."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.domain.governance.alerts import Alert
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.permissions import Permission


@dataclass(slots=True)
class NotifiedAlerts:
    """The AlertNotices port over the Notifier."""

    notifier: Notifier

    async def raised(self, alert: Alert, owner_id: str | None) -> None:
        about = (f"OAuth client {alert.client_name!r}" if alert.client_id
                 else alert.subject or "the organisation")
        where = f" ({alert.client_id})" if alert.client_id else ""
        message = Message(
            NoticeKind.alert_raised, f"{alert.severity} alert {alert.rule}: {about}",
            f"A {alert.severity} alert, {alert.rule}, was raised on {about}{where}. "
            f"{alert.summary} Acknowledge or resolve it on the console's Alerts page.",
            client_id=alert.client_id)
        await self.notifier.notify(await self.notifier.owner_else(
            owner_id, Permission.GOVERNANCE_ALERT_EDIT), message)
