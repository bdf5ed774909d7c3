"""Sealing the secrets of an OAuthCredential row (tokens, a partner app's client id and secret).

Same keyring and format as source credentials; the associated data names the account, the
source and the field, so a token copied to another source's row does not open.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.crypto import Keyring
from lockstitch.models import OAuthCredential
from lockstitch.oauth.repository import CredentialRepository, StateRepository
from lockstitch.sources import credentials as source_credentials

Field = Literal["client_id", "client_secret", "refresh_token", "access_token"]
FIELDS: tuple[Field, ...] = ("client_id", "client_secret", "refresh_token", "access_token")


def associated_data(account_id: int, source_id: int, field: str) -> bytes:
    return f"lockstitch:oauth-credential:{account_id}:{source_id}:{field}".encode()


def seal(keyring: Keyring, credential: OAuthCredential, field: Field, value: str) -> str:
    return keyring.encrypt(value, associated_data(credential.account_id, credential.source_id, field))


def unseal(keyring: Keyring, credential: OAuthCredential, field: Field) -> str:
    token = getattr(credential, field)
    if token is None:
        raise LookupError(f"credential {credential.id} has no {field}")
    return keyring.decrypt(token, associated_data(credential.account_id, credential.source_id, field))


def unseal_source_credential(
    keyring: Keyring, credential: OAuthCredential, name: str, sealed: dict[str, str]
) -> str:
    """A credential *property* of the credential's source (e.g. a partner's redirect_uri)."""
    aad = source_credentials.associated_data(credential.account_id, credential.source_id, name)
    return str(source_credentials.json_loads(keyring.decrypt(sealed[name], aad)))


def state_data(state_hash: str) -> bytes:
    return f"lockstitch:oauth-state:{state_hash}:code_verifier".encode()


async def rotate(
    session: AsyncSession, keyring: Keyring, *, after_id: int, batch: int = 200
) -> tuple[int, int]:
    """Re-seal one batch of credentials under the newest key; same contract as
    ``sources.credentials.rotate``. Pending handshake states are re-sealed with the first batch."""
    rows = await CredentialRepository(session).batch_after(after_id, batch)
    resealed = 0
    for credential in rows:
        for field in FIELDS:
            token = getattr(credential, field)
            if token is not None and keyring.needs_rotation(token):
                aad = associated_data(credential.account_id, credential.source_id, field)
                setattr(credential, field, keyring.reseal(token, aad))
                resealed += 1
    if after_id == 0:
        for state in await StateRepository(session).with_verifier():
            assert state.code_verifier is not None
            if keyring.needs_rotation(state.code_verifier):
                state.code_verifier = keyring.reseal(state.code_verifier, state_data(state.state_hash))
                resealed += 1
    await session.flush()
    return (rows[-1].id if rows else after_id), resealed
