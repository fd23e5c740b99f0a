"""The failed-authentication tally: a row at once for a key's first failure in an interval, one
aggregate row with a count for the rest, bounded memory, and a memory-only answer for throttles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from keystead.protocol.auth_failures import (
    OVERFLOW_REASON,
    AuthFailure,
    FailureTally,
    shown_client_id,
)

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CLIENT = str(uuid.uuid4())


def failure(at: datetime, *, client_id: str = CLIENT, ip: str = "203.0.113.7",
            reason: str = "wrong or expired secret") -> AuthFailure:
    return AuthFailure(client_id=client_id, client_name="billing", remote_ip=ip, reason=reason,
                       endpoint="token", method="client_secret_basic", at=at)


def test_tally_writes_a_keys_first_failure_at_once_and_the_rest_once_with_a_count() -> None:
    tally = FailureTally(started_at=START, interval=timedelta(seconds=60))
    first = tally.note(failure(START))
    assert first is not None
    assert (first.entity_id, first.details["count"], first.details["reason"]) == (
        CLIENT, 1, "wrong or expired secret")
    later = [tally.note(failure(START + timedelta(seconds=n / 10))) for n in range(1, 500)]
    assert later == [None] * 499
    assert tally.take(START + timedelta(seconds=59)) == []  # the interval is not over
    events = tally.take(START + timedelta(seconds=60))
    assert [(e.entity_id, e.remote_ip, e.details["count"]) for e in events] == [
        (CLIENT, "203.0.113.7", 499)]
    assert events[0].details["lastAt"] == (START + timedelta(seconds=49.9)).isoformat()
    # A new interval: the key's first failure is written at once again.
    assert tally.note(failure(START + timedelta(seconds=61))) is not None


def test_tally_keeps_client_source_and_reason_apart() -> None:
    tally = FailureTally(started_at=START)
    assert tally.note(failure(START)) is not None
    assert tally.note(failure(START, ip="198.51.100.1")) is not None
    assert tally.note(failure(START, reason="client is disabled")) is not None
    assert tally.note(failure(START, client_id=str(uuid.uuid4()))) is not None
    assert tally.note(failure(START)) is None


def test_tally_final_take_writes_before_the_interval_ends() -> None:
    tally = FailureTally(started_at=START)
    tally.note(failure(START))
    tally.note(failure(START))
    assert [e.details["count"] for e in tally.take(START, final=True)] == [1]


def test_tally_bounds_distinct_keys_with_one_overflow_entry() -> None:
    # A caller rotating client ids cannot buy a row per request.
    tally = FailureTally(started_at=START, max_keys=10)
    written = [tally.note(failure(START, client_id=str(uuid.uuid4()))) for _ in range(1_000)]
    assert sum(event is not None for event in written) == 10
    events = tally.take(START, final=True)
    assert [(e.details["reason"], e.details["count"]) for e in events] == [
        (OVERFLOW_REASON, 990)]


def test_tally_recent_failures_answers_from_memory_across_one_interval() -> None:
    tally = FailureTally(started_at=START, interval=timedelta(seconds=60))
    for _ in range(7):
        tally.note(failure(START))
    tally.note(failure(START, reason="client is disabled"))
    assert tally.recent_failures(CLIENT, "203.0.113.7") == 8
    assert tally.recent_failures(CLIENT, "198.51.100.1") == 0
    tally.take(START + timedelta(seconds=60))
    assert tally.recent_failures(CLIENT, "203.0.113.7") == 8  # still recent after a flush
    tally.take(START + timedelta(seconds=120))
    assert tally.recent_failures(CLIENT, "203.0.113.7") == 0


def test_tally_recent_failures_takes_the_id_as_sent() -> None:
    tally = FailureTally(started_at=START)
    pasted = "a-secret-pasted-as-the-client-id"
    tally.note(failure(START, client_id=shown_client_id(pasted)))
    assert tally.recent_failures(pasted, "203.0.113.7") == 1


def test_tally_gives_back_what_could_not_be_stored_within_a_bound() -> None:
    tally = FailureTally(started_at=START, max_keys=2)
    tally.note(failure(START))
    tally.note(failure(START))
    events = tally.take(START, final=True)
    assert tally.give_back(events) == 0
    assert tally.take(START) == events
    assert tally.give_back(events * 10) == 6  # at most twice max_keys wait


def test_shown_client_id_keeps_only_a_prefix_of_what_is_not_a_client_id() -> None:
    assert shown_client_id(CLIENT) == CLIENT
    assert shown_client_id("s3cr3t-value-pasted") == "s3cr3t..."
    assert shown_client_id(CLIENT + "\x00") == CLIENT  # NUL dropped
    assert shown_client_id("x" * 100) == "xxxxxx..."
