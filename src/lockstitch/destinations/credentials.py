"""Destination credential properties at rest: sealed per destination and property.

The associated data names the account, the destination and the property, so a ciphertext copied
into another destination, onto another property or into a source's row does not open. Values are
JSON-encoded before sealing, like sources' (``sources.credentials``).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.destinations.repository import DestinationRepository
from lockstitch.kit.crypto import Keyring
from lockstitch.models import Destination


def associated_data(account_id: int, destination_id: int, name: str) -> bytes:
    return f"lockstitch:destination-credential:{account_id}:{destination_id}:{name}".encode()


def seal(keyring: Keyring, destination: Destination, name: str, value: str) -> str:
    aad = associated_data(destination.account_id, destination.id, name)
    return keyring.encrypt(orjson.dumps(value).decode(), aad)


def unseal(keyring: Keyring, destination: Destination, name: str) -> Any:
    aad = associated_data(destination.account_id, destination.id, name)
    return orjson.loads(keyring.decrypt(destination.credentials[name], aad))


def unseal_all(keyring: Keyring, destination: Destination) -> dict[str, Any]:
    """Every credential in the clear: for a connection check or a target's config, never a response.

    Raises ``kit.crypto.DecryptionError`` when one does not open (a missing key, a moved row).
    """
    return {name: unseal(keyring, destination, name) for name in destination.credentials}


async def rotate(
    session: AsyncSession, keyring: Keyring, *, after_id: int, batch: int = 200
) -> tuple[int, int]:
    """Re-seal one batch of destinations under the newest key (``lockstitch keys rotate``).

    Returns ``(last destination id seen, ciphertexts re-sealed)``; the caller loops until the id
    stops moving, committing each batch.
    """
    rows = await DestinationRepository(session).batch_after(after_id, batch)
    last_id = after_id
    resealed = 0
    for destination in rows:
        last_id = destination.id
        updated = dict(destination.credentials)
        for name, token in destination.credentials.items():
            if keyring.needs_rotation(token):
                aad = associated_data(destination.account_id, destination.id, name)
                updated[name] = keyring.reseal(token, aad)
                resealed += 1
        if updated != destination.credentials:
            destination.credentials = updated
    await session.flush()
    return last_id, resealed
