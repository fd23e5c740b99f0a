"""The address a request came from, for throttling and logs: the peer, or behind a trusted proxy,
the address that proxy saw.

``X-Forwarded-For`` is anyone's to write, so it is read only when the peer is one of the proxies
the operator named (``KEYSTEAD_TRUSTED_PROXIES``), and then from the right: each trusted proxy
appended the address it saw, so the right-most entry that is not itself a trusted proxy is the
client. Anything that does not parse as an address ends the walk at the last good one.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks, e.g. ``10.0.0.0/8, 127.0.0.1``.

    Raises:
        ValueError: an entry is neither.
    """
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: tuple[Network, ...]) -> str:
    """Where the request came from (see the module docstring)."""
    seen = _address(peer) if peer else None
    if seen is None:
        return peer or UNKNOWN
    if not trusted or not forwarded_for:
        return str(seen)
    for hop in reversed(forwarded_for.split(",")):
        if not any(seen in network for network in trusted):
            break
        previous = _address(hop)
        if previous is None:
            break
        seen = previous
    return str(seen)
