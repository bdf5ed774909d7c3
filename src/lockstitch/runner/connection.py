"""What a tap needs of a source: its config file content and the secrets to scrub from output.

Shared by connection checks and extractions. Property values come from the source (credential
properties unsealed here, in the worker, never in the API). For OAuth sources the token engine
first makes sure the credentials work (a refresh when due: a dead grant fails the job with the
provider's reason), then the tap gets tokens one of two ways:

* taps that speak OAuth are pointed at a token relay for the run (``runner.token_relay``): they
  "refresh" there whenever they like and always get a current access token, however long the
  run and however short the provider's tokens;
* other taps get one access token valid for the run, as far as the provider's lifetime allows.

A tap never holds a refresh token Lockstitch rotates (types whose taps insist on refreshing by
themselves list what they rewrite in ``writes_back``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from lockstitch.catalog import s3_access
from lockstitch.catalog.models import ConfigMapping, TapDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import LocalFiles, build_config, check_addresses, relayed_config
from lockstitch.context import Context
from lockstitch.models import Source
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.runner.token_relay import Relay, token_relay
from lockstitch.sources import credentials


@dataclass
class TapConnection:
    config: dict[str, Any]
    relay: Relay | None = None
    # Variables beside the minimal environment: the operator's S3 access, for S3 types only.
    env: dict[str, str] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def tap_connection(
    ctx: Context,
    worker_id: str,
    source: Source,
    source_type: SourceType,
    tap: TapDef,
    run_seconds: float,
    secrets: list[str],
) -> AsyncIterator[TapConnection]:
    """Raises ``CredentialsUnavailable`` (OAuth) or ``ConfigError`` (a property the tap cannot take,
    a host the outbound policy refuses: checked before any token is fetched).
    The relay, when the tap uses one, serves until the block ends. Every secret in play is
    appended to ``secrets`` (the caller's scrub list) as soon as it exists, mid-run included."""
    values: dict[str, Any] = dict(source.properties)
    for name in source.credentials:
        value = credentials.unseal(ctx.keyring, source, name)
        values[name] = value
        if isinstance(value, str):
            secrets.append(value)
    mapping = dict(tap.config)
    settings = dict(tap.settings)
    values.update(await check_addresses(ctx.outbound, mapping, values))
    files = LocalFiles(ctx.settings.account_files_root(source.account_id), tuple(ctx.settings.server_paths()))
    protocol = source_type.details.protocol
    env = s3_access.environment(ctx.settings.s3, protocol)
    secrets += s3_access.secrets(ctx.settings.s3, protocol)
    if source_type.definition.oauth is None:
        yield TapConnection(build_config(mapping, settings, values, files=files), env=env)
        return
    engine = TokenEngine(ctx, worker_id)
    handed = await engine.tap_credentials(source.account_id, source.id, run_seconds)
    secrets += handed.secrets
    if tap.token_relay is None:
        values.update(handed.values)
        if tap.access_token_key:
            mapping["access_token"] = ConfigMapping(key=tap.access_token_key)
        yield TapConnection(build_config(mapping, settings, values, files=files), env=env)
        return

    async def fresh() -> tuple[str, dt.datetime]:
        vended = await engine.access_token(source.account_id, source.id, None)
        return vended.access_token, vended.expires_at

    async with token_relay(fresh, secrets) as relay:
        config = relayed_config(
            tap.token_relay,
            mapping,
            settings,
            values,
            files=files,
            relay_url=relay.url,
            client_id=relay.client_id,
            client_secret=relay.client_secret,
            refresh_token=relay.refresh_token,
        )
        yield TapConnection(config, relay, env)
