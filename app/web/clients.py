"""Who is on the other end of a connection, when reverse proxies stand in between.

Behind a load balancer every request comes from the balancer's address, so anything
keyed on the client's address (the login limit) would count every client as one. When
the peer is one of ``TRUSTED_PROXIES``, the client is the nearest address in
``X-Forwarded-For`` that is not a trusted proxy itself; entries further left could have
been written by anyone and are not believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network

Network = IPv4Network | IPv6Network


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
