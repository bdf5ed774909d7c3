"""What a tap needs of a source: its config file content and the secrets to scrub from output.

Shared by connection checks and extractions. Property values come from the source (credential
properties unsealed here, in the worker, never in the API), OAuth values from the token engine:
an access token valid for the whole run, so a tap never meets an expired token and never needs
to refresh a rotating token behind Lockstitch's back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lockstitch.catalog.models import ConfigMapping, TapDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.models import Source
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.runner.tap_config import build_config
from lockstitch.sources import credentials


@dataclass
class TapConnection:
    config: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


async def tap_connection(
    ctx: Context, worker_id: str, source: Source, source_type: SourceType, tap: TapDef, run_seconds: float
) -> TapConnection:
    """Raises ``CredentialsUnavailable`` (OAuth) or ``ConfigError`` (a property the tap cannot take)."""
    values: dict[str, Any] = dict(source.properties)
    secrets: list[str] = []
    for name in source.credentials:
        value = credentials.unseal(ctx.keyring, source, name)
        values[name] = value
        if isinstance(value, str):
            secrets.append(value)
    mapping = dict(tap.config)
    if source_type.definition.oauth is not None:
        handed = await TokenEngine(ctx, worker_id).tap_credentials(source.account_id, source.id, run_seconds)
        values.update(handed.values)
        secrets += handed.secrets
        if tap.access_token_key:
            mapping["access_token"] = ConfigMapping(key=tap.access_token_key)
    config = build_config(mapping, tap.settings, values, files_root=ctx.settings.files_root)
    return TapConnection(config, secrets)
