"""Destination credential properties at rest: sealed per destination and property
(``models.credential_seal``, whose associated data also keeps a source's ciphertext out).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.destinations.repository import DestinationRepository
from lockstitch.kit.crypto import Keyring
from lockstitch.models import Destination
from lockstitch.models.credential_seal import CredentialSeal

SEAL = CredentialSeal("destination")


def seal(keyring: Keyring, destination: Destination, name: str, value: str) -> str:
    return SEAL.seal(keyring, destination, name, value)


def unseal(keyring: Keyring, destination: Destination, name: str) -> Any:
    return SEAL.unseal(keyring, destination, name)


def unseal_all(keyring: Keyring, destination: Destination) -> dict[str, Any]:
    """Every credential in the clear: for a connection check or a target's config, never a response.

    Raises ``kit.crypto.DecryptionError`` when one does not open (a missing key, a moved row).
    """
    return {name: unseal(keyring, destination, name) for name in destination.credentials}


async def rotate(
    session: AsyncSession, keyring: Keyring, *, after_id: int, batch: int = 200
) -> tuple[int, int]:
    """Re-seal one batch of destinations under the newest key (``CredentialSeal.rotate``)."""
    return await SEAL.rotate(
        session, keyring, DestinationRepository(session).batch_after, after_id=after_id, batch=batch
    )
