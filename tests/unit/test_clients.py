"""The client's address behind reverse proxies: only trusted proxies are believed."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from app.settings import Settings
from app.web.clients import client_address

PROXIES = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),  # no proxy
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer's header is ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),  # one trusted hop
        ("10.0.0.2", "198.51.100.1, 10.0.0.7", "198.51.100.1"),  # two trusted hops
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a forged left entry
        ("10.0.0.2", "10.0.0.5, 10.0.0.7", "10.0.0.5"),  # proxies all the way
        ("10.0.0.2", "not-an-address", "not-an-address"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.2", " , ", "10.0.0.2"),
    ],
)
def test_the_client_is_the_nearest_untrusted_hop(
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"


def test_trusted_proxies_are_read_comma_separated_and_checked() -> None:
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, 192.0.2.7")  # type: ignore[call-arg]
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.7/32"]
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8, nonsense")  # type: ignore[call-arg]
