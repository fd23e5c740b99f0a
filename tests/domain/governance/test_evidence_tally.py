"""Evidence counted in memory: one token's scopes and address become rows off the request
path, addresses become /24 and /64 networks, and the tally is bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.domain.governance.evidence import EvidenceCount, EvidenceTally, Kind, network_of

NOW = datetime(2026, 12, 5, 23, 59, tzinfo=UTC)
DAY = NOW.date()


def test_tally_splits_scopes_and_makes_networks() -> None:
    tally = EvidenceTally(lambda: NOW)
    tally.token("c1", "client_credentials", "read write", "203.0.113.7")
    tally.token("c1", "client_credentials", "read", "203.0.113.200")
    tally.failure("c1", "wrong or expired secret", "2001:db8:1:2::5")

    assert sorted(tally.take(), key=lambda r: (r.kind, r.item)) == [
        EvidenceCount("c1", DAY, Kind.failure, "wrong or expired secret", 1),
        EvidenceCount("c1", DAY, Kind.grant, "client_credentials", 2),
        EvidenceCount("c1", DAY, Kind.network, "2001:db8:1:2::/64", 1),
        EvidenceCount("c1", DAY, Kind.network, "203.0.113.0/24", 2),
        EvidenceCount("c1", DAY, Kind.scope, "read", 2),
        EvidenceCount("c1", DAY, Kind.scope, "write", 1),
    ]
    assert tally.take() == []


def test_tally_networks_of_odd_addresses() -> None:
    assert network_of("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert network_of("testclient") is None
    assert network_of("") is None


def test_tally_is_bounded_and_gives_back_what_a_flush_could_not_write() -> None:
    tally = EvidenceTally(lambda: NOW, max_keys=1)
    tally.token("c1", "client_credentials", "read", "203.0.113.7")
    tally.token("c1", "client_credentials", "read", "203.0.113.7")  # the same event: counted
    tally.token("c2", "client_credentials", "read", "203.0.113.7")  # past the bound: dropped

    rows = tally.take()
    tally.give_back(rows)

    assert tally.dropped == 1
    assert {(r.client_id, r.kind, r.count) for r in rows} == {
        ("c1", Kind.grant, 2), ("c1", Kind.scope, 2), ("c1", Kind.network, 2)}
    assert sorted(tally.take(), key=lambda r: r.kind) == sorted(rows, key=lambda r: r.kind)
