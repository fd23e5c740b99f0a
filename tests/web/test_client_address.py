"""Which address a request is counted against: X-Forwarded-For is believed only from a trusted
proxy, and only as far back as the chain of trusted proxies goes (a client cannot name itself
anyone it likes)."""

from __future__ import annotations

import pytest

from keystead.web.client_address import client_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1")


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    pytest.param("203.0.113.5", "198.51.100.1", (), "203.0.113.5", id="no-trusted-proxies"),
    pytest.param("203.0.113.5", "198.51.100.1", PROXIES, "203.0.113.5",
                 id="untrusted-peer-header-ignored"),
    pytest.param("10.0.0.2", "198.51.100.1", PROXIES, "198.51.100.1", id="one-trusted-proxy"),
    pytest.param("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", PROXIES, "198.51.100.1",
                 id="chain-of-proxies-spoofed-left-part-ignored"),
    pytest.param("10.0.0.2", "garbage, 198.51.100.1", PROXIES, "198.51.100.1",
                 id="garbage-left-of-client-ignored"),
    pytest.param("10.0.0.2", "198.51.100.1, not-an-ip", PROXIES, "10.0.0.2",
                 id="garbage-from-a-proxy-stops-the-walk"),
    pytest.param("10.0.0.2", None, PROXIES, "10.0.0.2", id="trusted-peer-without-header"),
    pytest.param("10.0.0.2", "2001:db8::1", PROXIES, "2001:db8::1", id="ipv6-client"),
    pytest.param(None, "198.51.100.1", PROXIES, "unknown", id="no-peer"),
])
def test_client_address(peer: str | None, forwarded: str | None,
                        trusted: tuple[object, ...], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES if trusted else ()) == expected


def test_parse_networks_refuses_a_bad_entry() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        parse_networks("10.0.0.0/8, not-a-network")
