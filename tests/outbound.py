"""Hostile addresses for the outbound-policy tests, and a resolver that stands in for DNS.

``StandInDNS`` answers for ``*.partner.test`` and a few well-known names the way a hostile
partner's DNS would (names that lead to loopback, private, metadata or mixed answers); it is
handed to ``build_context(resolver=...)``, the transport-level stand-in for real DNS.
"""

from __future__ import annotations

import socket

# IP literals a partner may write, each one on the server's side of the network.
HOSTILE_LITERALS = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.170.2",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "240.0.0.1",
    "127.0.0.2",
    "127.255.255.254",
    "10.255.255.255",
    "172.31.255.255",
    "192.168.255.254",
    "169.254.0.1",
    "100.127.255.254",
    "203.0.113.5",
    "198.51.100.7",
    "0.1.2.3",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "fd00:ec2::254",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
]

# Legacy IPv4 spellings: getaddrinfo still turns every one of them into an address.
ODD_SPELLINGS = [
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.1",
    "017700000001",
    "127.000.000.001",
    "0",
    "10.1",
    "0xa9.0xfe.0xa9.0xfe",
]

# Names whose (test) DNS answer leads inside.
HOSTILE_NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "metadata.google.internal": ["169.254.169.254"],
    "loopback.partner.test": ["127.0.0.1"],
    "internal.partner.test": ["10.1.2.3"],
    "mixed.partner.test": ["93.184.216.34", "127.0.0.1"],  # a round-robin answer with a stowaway
    "v6-internal.partner.test": ["fd12::1"],
    "mapped.partner.test": ["::ffff:10.0.0.1"],
    "metadata.partner.test": ["169.254.169.254"],
    "cgnat.partner.test": ["100.64.1.1"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "linklocal6.partner.test": ["fe80::2"],
    "zero.partner.test": ["0.0.0.0"],  # Linux connects 0.0.0.0 to this machine
    "private172.partner.test": ["172.20.0.5"],
    "private192.partner.test": ["192.168.10.10"],
    "multicast.partner.test": ["239.1.1.1"],
    "teredo.partner.test": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
}

PUBLIC_NAMES = {
    "api.partner.test": ["93.184.216.34"],
    "db.partner.test": ["93.184.216.35"],
    "pinned.partner.test": ["127.0.0.1"],  # loopback: reachable only where the operator allows it
    "warehouse.corp.test": ["10.9.9.9"],
    "corp.test.evil.test": ["10.9.9.9"],
}


class StandInDNS:
    """DNS for the tests: the tables above; anything else does not resolve."""

    def __init__(self, extra: dict[str, list[str]] | None = None) -> None:
        self.answers = {**HOSTILE_NAMES, **PUBLIC_NAMES, **(extra or {})}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host in self.answers:
            return list(self.answers[host])
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def hostile_hosts() -> list[str]:
    """Every hostile host, as a partner would type it into a host property."""
    return [*HOSTILE_LITERALS, *ODD_SPELLINGS, *HOSTILE_NAMES, "LOCALHOST", "localhost."]


def as_url(host: str, port: int, path: str = "/") -> str:
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"
