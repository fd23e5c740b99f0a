"""The declared webhook events: every notice kind is one, the README's table is this table, and
the README's receiver verifies what Keystead signs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.governance.notices import NoticeKind
from keystead.domain.webhooks.endpoints import new_signing_secret, url_problem
from keystead.domain.webhooks.events import EVENTS, audit_event

README = Path(__file__).parents[2] / "README.md"
SECTION = "### Webhooks and the audit stream"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    return text[start:text.index("\n### ", start + len(SECTION))]


def test_webhook_events_cover_every_notice_kind() -> None:
    assert {str(kind) for kind in NoticeKind} <= set(EVENTS)


def test_webhook_events_readme_table_is_the_declared_table() -> None:
    table = re.findall(r"^\| `([a-z.]+)` \| (.+?) \| (.+?) \|$", _section(), re.MULTILINE)
    assert [name for name, _, _ in table] == list(EVENTS)
    for name, summary, fields in table:
        assert summary == EVENTS[name].summary
        assert re.findall(r"`(\w+)`", fields) == list(EVENTS[name].fields)


def test_webhook_readme_receiver_verifies_a_signed_delivery() -> None:
    [block] = re.findall(r"```python\n(.*?)```", _section(), re.DOTALL)
    receiver: dict[str, Any] = {}
    exec(re.sub(r"^  ", "", block, flags=re.MULTILINE), receiver)  # noqa: S102 - the README's code
    secret = new_signing_secret()
    receiver["SECRET"] = secret
    body = b'{"type":"client.created","timestamp":"2026-12-05T12:00:00Z","data":{}}'
    now = datetime.now(UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign("msg_1", now, body)}
    assert receiver["receive"](body, headers)["type"] == "client.created"
    with pytest.raises(WebhookVerificationError):
        receiver["receive"](body.replace(b"created", b"deleted"), headers)


def test_webhook_client_events_never_carry_details_beyond_the_table() -> None:
    entry = AuditEvent(
        timestamp=datetime.now(UTC), actor_kind="user", actor_id="u1", actor_name="Ada",
        action="secret.regenerate", entity_type="OAuthClient", entity_id="c1",
        entity_name="billing", details={"dualUseSeconds": 60, "unexpected": "x"})
    event = audit_event(entry)
    assert event is not None
    assert set(event.data) == set(EVENTS[event.type].fields)
    assert audit_event(AuditEvent(**{**_fields(entry), "result": Result.failure})) is None
    assert audit_event(AuditEvent(**{**_fields(entry), "entity_type": "User"})) is None


def _fields(entry: AuditEvent) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in AuditEvent.__dataclass_fields__}


@pytest.mark.parametrize("url", ["ftp://example.com/", "https://user:pw@example.com/",
                                 "https:///nohost", "https://example.com:99999/",
                                 "javascript:alert(1)", "https://example.com/#frag"])
def test_webhook_url_problem_refuses(url: str) -> None:
    assert url_problem(url) is not None


def test_webhook_url_problem_accepts_https() -> None:
    assert url_problem("https://hooks.example.com/keystead?x=1") is None
