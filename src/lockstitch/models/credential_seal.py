"""Credential properties at rest, for every kind of row that holds them (sources, destinations).

Each value is JSON-encoded (so a credential keeps its JSON type, almost always a string) and
sealed (``kit.crypto``) under associated data naming the row's kind, its account, the row and the
property: a ciphertext copied into another row, onto another property or into a row of another
kind does not open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.crypto import Keyring


class SealedRow(Protocol):
    """A row with a ``credentials`` column: property name -> ciphertext."""

    @property
    def id(self) -> int: ...

    @property
    def account_id(self) -> int: ...

    credentials: dict[str, str]


@dataclass(frozen=True)
class CredentialSeal:
    kind: str  # "source" or "destination": part of the associated data

    def associated_data(self, account_id: int, row_id: int, name: str) -> bytes:
        return f"lockstitch:{self.kind}-credential:{account_id}:{row_id}:{name}".encode()

    def seal(self, keyring: Keyring, row: SealedRow, name: str, value: Any) -> str:
        return keyring.encrypt(
            orjson.dumps(value).decode(), self.associated_data(row.account_id, row.id, name)
        )

    def unseal(self, keyring: Keyring, row: SealedRow, name: str) -> Any:
        """Raises ``kit.crypto.DecryptionError`` when the value does not open (a missing key, a
        moved row)."""
        aad = self.associated_data(row.account_id, row.id, name)
        return orjson.loads(keyring.decrypt(row.credentials[name], aad))

    async def rotate(
        self,
        session: AsyncSession,
        keyring: Keyring,
        batch_after: Callable[[int, int], Awaitable[Sequence[SealedRow]]],
        *,
        after_id: int,
        batch: int,
    ) -> tuple[int, int]:
        """Re-seal one batch of rows under the newest key (``lockstitch keys rotate``): those
        ``batch_after(after_id, batch)`` reads, ordered by id. Returns ``(last id seen,
        ciphertexts re-sealed)``; the caller loops until the id stops moving, committing each
        batch, so a running server is never blocked for long."""
        last_id = after_id
        resealed = 0
        for row in await batch_after(after_id, batch):
            last_id = row.id
            updated = dict(row.credentials)
            for name, token in row.credentials.items():
                if keyring.needs_rotation(token):
                    updated[name] = keyring.reseal(token, self.associated_data(row.account_id, row.id, name))
                    resealed += 1
            if updated != row.credentials:
                row.credentials = updated
        await session.flush()
        return last_id, resealed
