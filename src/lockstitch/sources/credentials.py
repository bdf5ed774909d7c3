"""Credential properties at rest: sealed per source and property (``models.credential_seal``),
re-sealed on key rotation.

Values a tap rewrote in its config (``TapDef.writes_back``) are stored here too
(``store_tap_values``), plain or sealed as the property says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.crypto import DecryptionError, Keyring
from lockstitch.models import Source
from lockstitch.models.credential_seal import CredentialSeal
from lockstitch.sources.repository import SourceRepository

SEAL = CredentialSeal("source")
associated_data = SEAL.associated_data  # also how oauth.sealing opens a source's tokens


def seal(keyring: Keyring, source: Source, name: str, value: Any) -> str:
    return SEAL.seal(keyring, source, name, value)


def unseal(keyring: Keyring, source: Source, name: str) -> Any:
    return SEAL.unseal(keyring, source, name)


def json_loads(plaintext: str) -> Any:
    return orjson.loads(plaintext)


async def rotate(
    session: AsyncSession, keyring: Keyring, *, after_id: int, batch: int = 200
) -> tuple[int, int]:
    """Re-seal one batch of sources under the newest key (``CredentialSeal.rotate``)."""
    return await SEAL.rotate(
        session, keyring, SourceRepository(session).batch_after, after_id=after_id, batch=batch
    )


@dataclass(frozen=True)
class TapValue:
    """A property value a tap rewrote during a run, and the value the source held when the run
    started (unsealed for a credential; None when it had none)."""

    name: str
    is_credential: bool
    started: Any
    value: str


async def store_tap_values(
    session: AsyncSession, keyring: Keyring, source_id: int, values: Sequence[TapValue]
) -> tuple[list[str], list[str]]:
    """Store each value on the source, sealed when it is a credential, with a compare-and-swap:
    only while the source still holds what the run started with, so a partner's PUT made during
    the run wins over the tap. Returns ``(names stored, names overtaken)``.

    ``updated_at`` stays: this is not a partner's write, and moving it would restart the
    source's schedule after every run (``jobs.scheduler``)."""
    source = await SourceRepository(session).lock(source_id)
    if source is None or source.deleted_at is not None:
        return [], [v.name for v in values]
    properties = dict(source.properties)
    sealed = dict(source.credentials)
    stored: list[str] = []
    overtaken: list[str] = []
    for tap_value in values:
        if _current(keyring, source, tap_value) != tap_value.started:
            overtaken.append(tap_value.name)
            continue
        if tap_value.is_credential:
            sealed[tap_value.name] = seal(keyring, source, tap_value.name, tap_value.value)
        else:
            properties[tap_value.name] = tap_value.value
        stored.append(tap_value.name)
    if stored:
        source.properties = properties
        source.credentials = sealed
        await session.flush()
    return stored, overtaken


def _current(keyring: Keyring, source: Source, tap_value: TapValue) -> Any:
    if not tap_value.is_credential:
        return source.properties.get(tap_value.name)
    if tap_value.name not in source.credentials:
        return None
    try:
        return unseal(keyring, source, tap_value.name)
    except DecryptionError:
        return _UNREADABLE  # never equal to what a run started with: the swap fails


_UNREADABLE = object()
