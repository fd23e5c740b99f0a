"""What a client's owner is told of a new finding worth telling (high or critical, or a secret
due for rotation): a notice in the transaction that found it. Without an owner, the admins who
act on findings are told instead."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.domain.clients import Client
from keystead.domain.governance.findings import Finding, FindingKind
from keystead.domain.governance.notices import Message, NoticeKind, Notifier
from keystead.domain.permissions import Permission


@dataclass(slots=True)
class NotifiedFindings:
    """The FindingNotices port over the Notifier."""

    notifier: Notifier

    async def opened(self, finding: Finding, client: Client) -> None:
        name = client.settings.name
        if finding.kind is FindingKind.secret_rotation_due:
            message = Message(
                NoticeKind.rotation_due, f"OAuth client {name!r}: its secret is due for rotation",
                f"The secret of the OAuth client {name!r} ({client.id}) is older than the "
                f"organisation's rotation age. {finding.recommendation}", client_id=client.id)
        else:
            subject = f" ({finding.subject})" if finding.subject else ""
            message = Message(
                NoticeKind.finding_opened,
                f"OAuth client {name!r}: {finding.severity} finding {finding.kind}{subject}",
                f"A {finding.severity} finding, {finding.kind}{subject}, is open on the OAuth "
                f"client {name!r} ({client.id}). {finding.recommendation}",
                client_id=client.id)
        await self.notifier.notify(await self.notifier.owner_else(
            client.settings.owner_id, Permission.GOVERNANCE_FINDING_EDIT), message)
