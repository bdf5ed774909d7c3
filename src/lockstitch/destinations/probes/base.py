"""What every probe shares: its outcome, the port rule and the outbound policy's gate."""

from __future__ import annotations

from dataclasses import dataclass, field

from lockstitch.kit.logging import get_logger
from lockstitch.kit.outbound import Checked, OutboundPolicy, Refused, unreachable

logger = get_logger("lockstitch.destinations")


@dataclass
class Outcome:
    ok: bool
    message: str | None = None  # why not, for the client
    log: list[str] = field(default_factory=list)


def bad_port(port_text: str, log: list[str]) -> Outcome | None:
    """The outcome for a port that is no TCP port, or None when it is one."""
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return Outcome(False, f"port {port_text} is not a TCP port", log)
    return None


async def gate(policy: OutboundPolicy, host: str) -> Checked | None:
    """The host through the outbound policy: the checked address to connect to, or None (the
    caller answers ``unreachable``; the reason is in the operator's log only)."""
    try:
        return await policy.check(host)
    except Refused:
        return None


async def address_or_outcome(
    policy: OutboundPolicy, host: str, port_text: str, log: list[str]
) -> Checked | Outcome:
    """Every probe's first step: the port must be a TCP port and the host must pass the outbound
    policy. The checked address to connect to, or the outcome that ends the probe."""
    if (refused := bad_port(port_text, log)) is not None:
        return refused
    checked = await gate(policy, host)
    if checked is None:
        return unreachable_outcome(host, port_text, log)
    return checked


def unreachable_outcome(host: str, port: int | str, log: list[str], reason: str | None = None) -> Outcome:
    """The one message for anything short of the server answering (a check is no port scanner)."""
    if reason is not None:
        logger.info("destination probe could not connect", where=f"{host}:{port}", reason=reason)
    return Outcome(False, unreachable(f"{host}:{port}"), log)
