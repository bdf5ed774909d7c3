"""Credential properties at rest: sealed per source and property, re-sealed on key rotation.

The associated data names the account, the source and the property, so a ciphertext copied into
another source (or onto another property) does not open. Values are JSON-encoded before sealing
so a credential keeps its JSON type (almost always a string).

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
from lockstitch.sources.repository import SourceRepository


def associated_data(account_id: int, source_id: int, name: str) -> bytes:
    return f"lockstitch:source-credential:{account_id}:{source_id}:{name}".encode()


def seal(keyring: Keyring, source: Source, name: str, value: Any) -> str:
    return keyring.encrypt(orjson.dumps(value).decode(), associated_data(source.account_id, source.id, name))


def unseal(keyring: Keyring, source: Source, name: str) -> Any:
    token = source.credentials[name]
    return json_loads(keyring.decrypt(token, associated_data(source.account_id, source.id, name)))


def json_loads(plaintext: str) -> Any:
    return orjson.loads(plaintext)


async def rotate(
    session: AsyncSession, keyring: Keyring, *, after_id: int, batch: int = 200
) -> tuple[int, int]:
    """Re-seal one batch of sources under the newest key.

    Returns ``(last source id seen, ciphertexts re-sealed)``; the caller loops until the id stops
    moving, committing each batch, so a running server is never blocked for long.
    """
    sources = SourceRepository(session)
    rows = await sources.batch_after(after_id, batch)
    last_id = after_id
    resealed = 0
    for source in rows:
        last_id = source.id
        updated = dict(source.credentials)
        for name, token in source.credentials.items():
            if keyring.needs_rotation(token):
                updated[name] = keyring.reseal(token, associated_data(source.account_id, source.id, name))
                resealed += 1
        if updated != source.credentials:
            source.credentials = updated
    await session.flush()
    return last_id, resealed


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
