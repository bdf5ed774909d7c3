"""Credential properties at rest: sealed per source and property, re-sealed on key rotation.

The associated data names the account, the source and the property, so a ciphertext copied into
another source (or onto another property) does not open. Values are JSON-encoded before sealing
so a credential keeps its JSON type (almost always a string).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.crypto import Keyring
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
