"""The outbound-address policy (kit/outbound.py) and Lockstitch's HTTP under it (kit/outbound_http.py).

Unit level: how hosts are normalized and which addresses are refused, in production and in
development, and what the operator's allowances change. Then the HTTP client: a refused host is
never connected to, and an allowed name is connected to at the address that was checked, with
the name kept for the Host header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from lockstitch.kit.outbound import OutboundPolicy, Refused, normalize_host, unreachable
from lockstitch.kit.outbound_http import TRUSTED, GuardedTransport, OutboundRefused, pinned_transport
from tests.outbound import HOSTILE_LITERALS, HOSTILE_NAMES, ODD_SPELLINGS, StandInDNS


def policy(*, allow_private: bool = False, **kwargs: object) -> OutboundPolicy:
    return OutboundPolicy(allow_private=allow_private, resolver=StandInDNS(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Example.COM.", "example.com"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:0DB8:0000::0001", "2001:db8::1"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("\uff18.\uff18.\uff18.\uff18", "8.8.8.8"),  # full-width digits fold (IDNA nameprep)
        ("db_primary.internal", "db_primary.internal"),
    ],
)
def test_hosts_are_normalized(raw: str, normal: str) -> None:
    """Names compare lower-case, IDNA-encoded, without a trailing dot; literals canonical."""
    assert normalize_host(raw) == normal


@pytest.mark.parametrize(
    "raw", [*ODD_SPELLINGS, "", " ", "a b", "x@y", "fe80::1%eth0", "-bad.example", "a..b"]
)
def test_odd_spellings_and_non_hosts_are_refused(raw: str) -> None:
    """What the C library would still turn into an address, and what is no host at all."""
    with pytest.raises(Refused):
        normalize_host(raw)


@pytest.mark.parametrize("literal", HOSTILE_LITERALS)
async def test_internal_literals_are_refused_in_production(literal: str) -> None:
    with pytest.raises(Refused):
        await policy().check(literal)


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
async def test_names_leading_inside_are_refused(name: str) -> None:
    """A name is refused when any address it resolves to is (round-robin answers included)."""
    with pytest.raises(Refused):
        await policy().check(name)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("fd12:3456::1", True),
        ("169.254.169.254", False),  # metadata, never
        ("fd00:ec2::254", False),  # AWS's IPv6 metadata address sits in the unique-local range
        ("100.64.0.1", False),  # CGNAT is not a LAN
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # a mapped form is refused even where its IPv4 would pass
        ("0.0.0.0", False),
    ],
)
async def test_development_allows_loopback_and_private_only(host: str, allowed: bool) -> None:
    """``make run`` reaches a local PostgreSQL; metadata and link-local stay out of reach."""
    dev = policy(allow_private=True)
    if allowed:
        assert (await dev.check(host)).address == normalize_host(host)
    else:
        with pytest.raises(Refused):
            await dev.check(host)


async def test_the_operators_allowances() -> None:
    """``allowed_cidrs`` opens ranges (metadata too, if the operator says so); ``allowed_hosts``
    opens names whatever they resolve to, exactly or by suffix."""
    operator = policy(allowed_cidrs=["10.20.0.0/16", "169.254.169.254/32"], allowed_hosts=["*.corp.test"])
    assert (await operator.check("10.20.3.4")).address == "10.20.3.4"
    assert (await operator.check("169.254.169.254")).address == "169.254.169.254"
    assert (await operator.check("warehouse.corp.test")).address == "10.9.9.9"
    with pytest.raises(Refused):
        await operator.check("10.21.0.1")
    with pytest.raises(Refused):
        await operator.check("corp.test.evil.test")


async def test_public_addresses_pass_and_the_first_is_the_one_to_connect_to() -> None:
    checked = await policy().check("api.partner.test")
    assert checked.host == "api.partner.test"
    assert checked.address == "93.184.216.34"


async def test_a_lookup_failure_is_refused_and_marked_as_such() -> None:
    """A name that does not resolve now may later: callers may retry it (nothing was sent)."""
    with pytest.raises(Refused) as refused:
        await policy().check("unresolvable.partner.test")
    assert refused.value.lookup_failed


def test_the_uniform_message_names_no_reason() -> None:
    """Refused, unresolvable and closed all read alike; the host is the partner's own input."""
    assert unreachable("db.example.com") == (
        "could not connect to db.example.com: the server is unreachable or not allowed by this "
        "Lockstitch server's network policy"
    )


# ------------------------------------------------------------------------------ HTTP under it
@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A tiny HTTP server on loopback that records each request's head."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    yield port, heads
    listener.close()
    await listener.wait_closed()


async def test_a_refused_host_is_never_connected_to(server: tuple[int, list[bytes]]) -> None:
    port, heads = server
    transport = GuardedTransport(policy(), pinned_transport(httpx.Limits()))
    async with httpx.AsyncClient(transport=transport) as http:
        for url in (
            f"http://127.0.0.1:{port}/",
            f"http://loopback.partner.test:{port}/",
            f"http://[::1]:{port}/",
        ):
            with pytest.raises(OutboundRefused):
                await http.get(url)
    assert heads == []


async def test_an_allowed_name_is_reached_at_the_checked_address(server: tuple[int, list[bytes]]) -> None:
    """``pinned.partner.test`` resolves (in the test resolver) to 127.0.0.1, which the operator
    allowed: the request reaches the server there, and keeps the name in its Host header."""
    port, heads = server
    operator = policy(allowed_cidrs=["127.0.0.0/8"])
    transport = GuardedTransport(operator, pinned_transport(httpx.Limits()))
    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.get(f"http://pinned.partner.test:{port}/hello")
    assert response.text == "ok"
    assert heads[0].startswith(b"GET /hello HTTP/1.1")
    assert f"host: pinned.partner.test:{port}".encode() in heads[0].lower()


async def test_trusted_requests_skip_the_policy(server: tuple[int, list[bytes]]) -> None:
    """The operator's own endpoints (a provider's token URL) are not partner input."""
    port, heads = server
    transport = GuardedTransport(policy(), pinned_transport(httpx.Limits()))
    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.get(f"http://127.0.0.1:{port}/", extensions={TRUSTED: True})
    assert response.status_code == 200
    assert len(heads) == 1
