"""The catalogue verifier: does each source type's mapping give its tap a config the tap takes?

For one type: install its tap (the same installer and venvs the runner uses), fill a synthetic
source from the card's own schemas (``catalog.synthetic``: dummy values, every one valid), build
the tap's config through the type's mapping (``catalog.tap_config.build_config``, as a real run
does), and run discovery with the network unreachable: every proxy variable points at a closed
loopback port and the synthetic hosts are loopback on the discard port, so a tap that took its
config fails at the network. The outcome is one of:

* ``config accepted``: the tap got as far as the network (or discovered offline);
* ``config rejected``: the tap refused the config (a missing or misnamed key: a mapping defect);
* ``install failed``: the tap cannot be installed here;
* ``crashed``: anything else (it cannot start on this Python, it timed out without trying the
  network...);
* ``no tap``: the type names none (its ``notes`` say why).

The classification reads the tap's last words with the runner's own rules
(``runner.messages``): the same words that make a real check say "unreachable".
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstitch.catalog.models import ConfigMapping, TapDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.synthetic import UNREACHABLE_HOST, UNREACHABLE_PORT, synthetic_form
from lockstitch.catalog.tap_config import ConfigError, LocalFiles, build_config, relayed_config
from lockstitch.runner.messages import final_reason, never_reached_a_server
from lockstitch.runner.plugins import PluginInstallError, Plugins
from lockstitch.runner.process import Finished, run_plugin
from lockstitch.runner.workspace import workspace
from lockstitch.sources.properties import as_string

DEAD_PROXY = f"http://{UNREACHABLE_HOST}:{UNREACHABLE_PORT}"
# Every spelling HTTP clients read (requests/urllib3, httpx, aiohttp, boto's botocore, curl).
OFFLINE_ENV = dict.fromkeys(
    ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"), DEAD_PROXY
) | {"NO_PROXY": "", "no_proxy": ""}
DEFAULT_TIMEOUT_SECONDS = 90.0
_MAX_DETAIL = 240

# Words of a server that answered (the dummy credentials were refused): the config got there.
_ANSWERED = re.compile(
    r"\b(?:401|403)\b|unauthori[sz]ed|forbidden|invalid_client|invalid_grant|invalid[_ ]token"
    r"|authentication failed|access denied",
    re.IGNORECASE,
)
# Words of an HTTP or cloud client that gave up before any server (beyond runner.messages').
_OFFLINE = re.compile(
    r"proxyerror|unable to connect to proxy|endpointconnectionerror|could not connect to the endpoint"
    r"|gaierror|getaddrinfo|failed to resolve|connectionerror|remotedisconnected|sslerror"
    r"|connection aborted|newconnectionerror|transporterror|serviceunavailable|unreachable",
    re.IGNORECASE,
)
# A tap that refused its config: the key it looked for, its validator's words.
_REJECTED = re.compile(
    r"keyerror|missing required|required (?:config|key|field|setting)|is a required property"
    r"|configvalidationerror|invalid config|config(?:uration)? (?:is )?(?:invalid|missing)",
    re.IGNORECASE,
)
# Cannot start at all on this Python (an old dependency).
_BROKEN = re.compile(
    r"modulenotfounderror|importerror|syntaxerror|cannot import name|has no attribute 'mutablemapping'"
    r"|pkg_resources",
    re.IGNORECASE,
)


class Outcome(enum.StrEnum):
    ACCEPTED = "config accepted"
    REJECTED = "config rejected"
    INSTALL_FAILED = "install failed"
    CRASHED = "crashed"
    NO_TAP = "no tap"


@dataclass(frozen=True)
class Verdict:
    type: str
    outcome: Outcome
    detail: str
    seconds: float = 0.0


async def verify_type(
    source_type: SourceType, plugins: Plugins, *, time_limit: float = DEFAULT_TIMEOUT_SECONDS
) -> Verdict:
    """Install the type's tap, hand it a synthetic source's config, run discovery offline, and
    classify how it ended (see the module docstring)."""
    started = time.monotonic()
    tap = source_type.definition.tap
    if tap is None:
        return Verdict(source_type.type, Outcome.NO_TAP, source_type.definition.notes or "names no tap")
    try:
        executable = await plugins.ensure(tap)
    except PluginInstallError as exc:
        return _verdict(source_type, Outcome.INSTALL_FAILED, exc.message, started)
    try:
        config = tap_config_for(source_type, tap)
    except (ConfigError, ValueError) as exc:
        return _verdict(source_type, Outcome.REJECTED, f"the mapping cannot build a config: {exc}", started)
    with workspace(prefix="verify-") as ws:
        path = ws.write_json("config.json", config)
        finished = await _discover(executable, path, ws.path, time_limit)
    if isinstance(finished, str):
        return _verdict(source_type, Outcome.ACCEPTED, finished, started)
    outcome, detail = classify(finished, time_limit)
    return _verdict(source_type, outcome, detail, started)


async def _discover(executable: Path, config: Path, workdir: Path, time_limit: float) -> Finished | str:
    """Run discovery; stop it as soon as a stderr line shows the tap trying the network (a tap
    that backs off and retries would otherwise use up the time limit for a known answer): then
    the answer is that line."""
    seen: list[str] = []
    reached = asyncio.Event()

    def watch(line: str) -> None:
        seen.append(line)
        if _reached_network(line):
            reached.set()

    run = asyncio.create_task(
        run_plugin(
            [executable, "--config", config, "--discover"],
            workdir=workdir,
            time_limit=time_limit,
            on_stderr=watch,
            env=OFFLINE_ENV,
        )
    )
    waiting = asyncio.create_task(reached.wait())
    await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if run.done():
        return run.result()
    run.cancel()  # run_plugin kills the tap's process group
    with contextlib.suppress(asyncio.CancelledError):
        await run
    return next(line for line in reversed(seen) if _reached_network(line))


def tap_config_for(source_type: SourceType, tap: TapDef) -> dict[str, Any]:
    """The config a real run would build for a source holding the synthetic form (values stored
    as a source stores them, ``sources.properties.as_string``). An OAuth tap is handed what the
    token engine would hand it (``runner.connection.tap_connection``): the refresh token and
    client as stored, an access token where the tap takes one, or the relay's values."""
    form = synthetic_form(source_type, tap.verify_values)
    # What the system fills at creation (read-only properties: an S3 role's external id...).
    system = source_type.system_values(account_id=1, source_id=1)
    values = {name: as_string(value) for name, value in {**system, **form}.items()}
    mapping: dict[str, ConfigMapping] = dict(tap.config)
    with tempfile.TemporaryDirectory(prefix="lockstitch-verify-files-") as root:
        files = LocalFiles(Path(root))
        if tap.token_relay is not None:
            dummy = "lockstitch-verify"
            return relayed_config(
                tap.token_relay,
                mapping,
                tap.settings,
                values,
                files=files,
                relay_url=f"{DEAD_PROXY}/token",
                client_id=dummy,
                client_secret=dummy,
                refresh_token=dummy,
            )
        if source_type.definition.oauth is not None and tap.access_token_key:
            values["access_token"] = "lockstitch-verify-access-token"  # noqa: S105 - a dummy
            mapping["access_token"] = ConfigMapping(key=tap.access_token_key)
        return build_config(mapping, tap.settings, values, files=files)


def classify(finished: Finished, time_limit: float) -> tuple[Outcome, str]:
    """How a discovery run with the network unreachable ended, and the line that says so."""
    lines = [line.rstrip() for line in finished.stderr_tail if line.strip()]
    tail = "\n".join(lines)
    reason = final_reason(lines) or ""
    if finished.timed_out:
        if _reached_network(tail):
            return Outcome.ACCEPTED, f"still trying the network after {time_limit:g} s: {reason}"
        return Outcome.CRASHED, f"no answer within {time_limit:g} s: {reason}"
    if finished.exit_code == 0:
        if _has_catalog(finished.stdout):
            return Outcome.ACCEPTED, "discovered its streams without the network"
        return Outcome.CRASHED, "exited 0 without writing a catalog"
    if _reached_network(reason):
        return Outcome.ACCEPTED, reason
    if _REJECTED.search(reason):
        return Outcome.REJECTED, reason
    if _BROKEN.search(tail):
        return Outcome.CRASHED, reason or "cannot start"
    if _reached_network(tail):
        return Outcome.ACCEPTED, reason
    if _REJECTED.search(tail):
        return Outcome.REJECTED, reason
    return Outcome.CRASHED, reason or f"exited with status {finished.exit_code}"


def _reached_network(text: str) -> bool:
    return never_reached_a_server(text) or bool(_OFFLINE.search(text) or _ANSWERED.search(text))


def _has_catalog(stdout: bytes) -> bool:
    return b'"streams"' in stdout


def _verdict(source_type: SourceType, outcome: Outcome, detail: str, started: float) -> Verdict:
    text = " ".join(detail.split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 3] + "..."
    return Verdict(source_type.type, outcome, text, round(time.monotonic() - started, 1))


async def verify_many(
    source_types: list[SourceType],
    plugins: Plugins,
    *,
    jobs: int = 3,
    time_limit: float = DEFAULT_TIMEOUT_SECONDS,
    on_verdict: Any = None,
) -> list[Verdict]:
    """Every type, ``jobs`` at a time (installs dominate: pip is mostly waiting on the network
    and the disk), in the order given."""
    gate = asyncio.Semaphore(jobs)

    async def one(source_type: SourceType) -> Verdict:
        async with gate:
            verdict = await verify_type(source_type, plugins, time_limit=time_limit)
        if on_verdict is not None:
            on_verdict(verdict)
        return verdict

    return list(await asyncio.gather(*(one(t) for t in source_types)))
