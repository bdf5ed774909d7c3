"""Values a tap rewrote in its config file during a run (``TapDef.writes_back``), kept for the next.

    tap run ends (discovery, --test or extraction; whatever its outcome)
      -> read the config file back from the private workspace (regular file, size-capped)
      -> for each ``writes_back`` property: the value at its config key, if the tap changed it
         (a string, non-empty, no NUL, within MAX_VALUE_CHARS, valid for the property's schema)
      -> stored on the source, sealed when the property is a credential, each one only while the
         source still holds what the run started with (a partner's PUT during the run wins)

Only the listed properties are taken; anything else the tap changed is ignored. A file that is
missing or unreadable and a value that is unusable are logged (property names, never values)
and dropped: keeping a tap's value is never a reason to fail its run. The catalogue loader makes
sure every listed property can come back this way (``catalog.models.SourceTypeFile``) and that
none of them is an OAuth token, which the token engine alone stores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lockstitch.catalog.models import TapDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import read_key
from lockstitch.context import Context
from lockstitch.kit.crypto import DecryptionError
from lockstitch.kit.logging import get_logger
from lockstitch.models import Source
from lockstitch.runner.workspace import Workspace
from lockstitch.sources.credentials import TapValue, store_tap_values, unseal

log = get_logger("lockstitch.runner.write_back")
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_VALUE_CHARS = 64 * 1024


async def write_back(
    ctx: Context,
    source: Source,
    source_type: SourceType,
    tap: TapDef,
    handed: Mapping[str, Any],
    ws: Workspace,
    filename: str,
    secrets: list[str],
) -> list[str]:
    """Store what the tap rewrote in ``filename`` against the config it was ``handed``; returns
    the names stored. ``source`` is the row as the run read it (what it started with). Every
    credential value taken is appended to ``secrets``, so the rest of the run's log hides it.
    Never raises for a tap's doing or a failed write."""
    if not tap.writes_back:
        return []
    try:
        rewritten = ws.read_back(filename, MAX_FILE_BYTES)
    except (OSError, ValueError) as exc:
        log.warning("tap config not read back", source_id=source.id, reason=type(exc).__name__)
        return []
    if not isinstance(rewritten, dict):
        log.warning("tap config not read back", source_id=source.id, reason="not a JSON object")
        return []
    values = _changed(ctx, source, source_type, tap, handed, rewritten)
    if not values:
        return []
    secrets.extend(v.value for v in values if v.is_credential)
    try:
        async with ctx.db.unit_of_work() as session:
            stored, overtaken = await store_tap_values(session, ctx.keyring, source.id, values)
    except Exception as exc:  # noqa: BLE001 - the run's own outcome must still be recorded
        log.warning("tap values not stored", source_id=source.id, reason=type(exc).__name__)
        return []
    if overtaken:
        log.info("tap values overtaken by a newer write", source_id=source.id, properties=overtaken)
    if stored:
        log.info("tap values written back", source_id=source.id, properties=stored)
    return stored


def _changed(
    ctx: Context,
    source: Source,
    source_type: SourceType,
    tap: TapDef,
    handed: Mapping[str, Any],
    rewritten: Mapping[str, Any],
) -> list[TapValue]:
    """The listed properties whose value at their config key differs from what was handed."""
    values: list[TapValue] = []
    for name in tap.writes_back:
        key = tap.config[name].key
        value = read_key(rewritten, key)
        if value == read_key(handed, key):
            continue
        spec = source_type.properties[name]
        problem = _unusable(value, spec.is_valid)
        if problem is not None:
            log.warning("tap value ignored", source_id=source.id, property=name, reason=problem)
            continue
        is_credential = spec.definition.is_credential
        try:
            started = _started(ctx, source, name, is_credential)
        except DecryptionError:
            log.warning("tap value ignored", source_id=source.id, property=name, reason="unreadable")
            continue
        values.append(TapValue(name, is_credential, started, value))
    return values


def _unusable(value: Any, is_valid: Callable[[Any], bool]) -> str | None:
    """Why a rewritten value cannot be stored (never the value itself), or None."""
    if not isinstance(value, str):
        return "not a string" if value is not None else "removed"
    if not value or "\x00" in value:
        return "empty or NUL"
    if len(value) > MAX_VALUE_CHARS:
        return f"over {MAX_VALUE_CHARS} characters"
    if not is_valid(value):
        return "not valid for the property's schema"
    return None


def _started(ctx: Context, source: Source, name: str, is_credential: bool) -> Any:
    if not is_credential:
        return source.properties.get(name)
    return unseal(ctx.keyring, source, name) if name in source.credentials else None
