"""The outbound-address policy: the one rule for every address Lockstitch reaches for a partner.

A partner is untrusted, and so is every host or URL it supplies (a database host, an API URL, a
token endpoint, later a webhook URL): it could name the server's own network. Before Lockstitch
connects to such a host, or writes it into a plugin's config, the host goes through ``check``:

    host -> normalized (IDNA; odd IP spellings such as 0x7f.1 or 2130706433 refused)
         -> resolved once -> every address checked -> the caller connects to the checked address

Refused unless the operator allows them (``[network] allowed_cidrs`` / ``allowed_hosts``):
loopback, private (RFC 1918, IPv6 unique-local), link-local, the cloud metadata addresses,
CGNAT (100.64.0.0/10), multicast, unspecified, reserved and documentation ranges, and IPv6 forms
that carry an IPv4 address (mapped, compatible, 6to4, Teredo, NAT64). Development mode allows
loopback and private ranges (``make run`` against a local PostgreSQL); never metadata.

Endpoints the operator configured (an OAuth provider's token URL) are not partner input: those
requests are marked trusted (``kit.outbound_http.TRUSTED``) and do not come here.

Partners learn one thing only: ``unreachable(host)``, the same words for a refused address, a
failed lookup, a closed port or a server that is not what it should be, so a check is no port
scanner. The reason goes to the operator's log (``Refused.reason``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

from lockstitch.kit.logging import get_logger

log = get_logger("lockstitch.outbound")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[str]]]

# Instance metadata services (AWS, GCP, Azure, Oracle, DigitalOcean: 169.254.169.254; AWS IPv6 and
# ECS; Alibaba). Refused even where their range would otherwise be allowed.
METADATA: Final = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# What development mode allows: this machine, and the networks a laptop or a LAN uses.
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_MAX_NAME = 253
LOOKUP_SECONDS = 5.0


class Refused(Exception):  # noqa: N818 - a verdict, not a failure of the code
    """A host Lockstitch will not connect to. ``reason`` is for the operator's log only."""

    def __init__(self, host: str, reason: str, *, lookup_failed: bool = False) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason
        # A name that does not resolve (now): the caller may retry later; a refused address not.
        self.lookup_failed = lookup_failed


def unreachable(host: str | None = None) -> str:
    """The one message a partner gets when Lockstitch cannot or will not reach a host."""
    where = f"could not connect to {host}" if host else "could not connect to the server"
    return f"{where}: the server is unreachable or not allowed by this Lockstitch server's network policy"


@dataclass(frozen=True)
class Checked:
    """A host that passed the policy: its normalized name and the address to connect to."""

    host: str
    address: str


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def normalize_host(raw: str) -> str:
    """A host as Lockstitch compares it: an IP literal in canonical form, or a lower-case ASCII
    DNS name without its trailing dot. Refuses what is neither (a legacy IPv4 spelling that the C
    library would still resolve, a zone index, characters no host name has)."""
    host = raw.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or len(host) > _MAX_NAME + 1 or any(c in host for c in "%@/\\?#") or not host.isprintable():
        raise Refused(raw, "not a host name or IP address")
    if any(c.isspace() for c in host):
        raise Refused(raw, "not a host name or IP address")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return str(literal)
    try:
        # IDNA (nameprep folds full-width digits and dots into 127.0.0.1, for one).
        name = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise Refused(raw, "not a valid host name") from None
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if _legacy_ipv4(name):
        raise Refused(raw, "an IP address written in a non-standard form")
    labels = name.split(".")
    if not name or len(name) > _MAX_NAME or not all(_is_label(label) for label in labels):
        raise Refused(raw, "not a valid host name")
    if labels[-1].isdigit():
        raise Refused(raw, "not a valid host name (numeric top-level label)")
    return name


def _legacy_ipv4(name: str) -> bool:
    # inet_aton accepts 127.1, 0x7f.0.0.1, 017700000001 and 2130706433; getaddrinfo then connects
    # to 127.0.0.1. ipaddress accepts only the dotted-quad form, so anything else is odd.
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def address_verdict(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` is refused (None: allowed), before the operator's own allowances."""
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped IPv6 address"
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if address.sixtofour is not None:
            return "a 6to4 address"
        if address.teredo is not None:
            return "a Teredo address"
        if any(address in net for net in _NAT64):
            return "a NAT64 address"
        if address in _IPV4_COMPATIBLE and not address.is_loopback:
            return "an IPv4-compatible IPv6 address"
    if any(address in net for net in _LOOPBACK):
        return None if allow_private else "a loopback address"
    if any(address in net for net in _PRIVATE):
        return None if allow_private else "a private address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CGNAT:
        return "a shared (CGNAT) address"
    if not address.is_global:
        return "an address that is not globally routable"
    return None


class OutboundPolicy:
    """``check(host)`` -> the address to connect to, or ``Refused``."""

    def __init__(
        self,
        *,
        allow_private: bool,
        allowed_hosts: Iterable[str] = (),
        allowed_cidrs: Iterable[str] = (),
        resolver: Resolver | None = None,
        lookup_seconds: float = LOOKUP_SECONDS,
    ) -> None:
        self.allow_private = allow_private
        self._hosts = frozenset(h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip())
        self._networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(c.strip(), strict=False) for c in allowed_cidrs if c.strip()
        )
        self._resolve = resolver or system_resolver
        self._lookup_seconds = lookup_seconds

    def host_allowed(self, name: str) -> bool:
        """Names the operator trusts whatever they resolve to (exact, or ``*.suffix``)."""
        if name in self._hosts:
            return True
        return any(p.startswith("*.") and name.endswith(p[1:]) for p in self._hosts)

    def refusal(self, address: IPAddress) -> str | None:
        if any(address.version == net.version and address in net for net in self._networks):
            return None
        return address_verdict(address, allow_private=self.allow_private)

    async def check(self, raw_host: str) -> Checked:
        """Resolve once and check every address; the first address is the one to connect to.
        A name with any refused address is refused whole (a round-robin answer must not smuggle
        an internal address in beside public ones)."""
        try:
            host = normalize_host(raw_host)
        except Refused as refused:
            self._log(refused)
            raise
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            reason = self.refusal(literal)
            if reason is not None:
                self._log(Refused(host, reason))
                raise Refused(host, reason)
            return Checked(host, host)
        addresses = await self._lookup(host)
        if not self.host_allowed(host):
            for address in addresses:
                reason = self.refusal(address)
                if reason is not None:
                    verdict = Refused(host, f"{host} resolves to {address}, {reason}")
                    self._log(verdict)
                    raise verdict
        return Checked(host, str(addresses[0]))

    async def _lookup(self, host: str) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self._lookup_seconds):
                answers = await self._resolve(host)
        except (OSError, TimeoutError, UnicodeError) as exc:
            refused = Refused(host, f"lookup of {host} failed ({type(exc).__name__})", lookup_failed=True)
            self._log(refused)
            raise refused from None
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer))
            except ValueError:
                continue
        if not addresses:
            refused = Refused(host, f"lookup of {host} returned no address", lookup_failed=True)
            self._log(refused)
            raise refused
        return addresses

    @staticmethod
    def _log(refused: Refused) -> None:
        log.warning("outbound connection refused", host=refused.host, reason=refused.reason)
