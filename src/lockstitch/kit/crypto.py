"""Secrets at rest: AES-256-GCM under a versioned keyring (ARCHITECTURE.md section 5).

A ciphertext is the text ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. It names the key
that sealed it, so several keys can be live at once: the newest seals, any known key opens.
``lockstitch keys rotate`` re-seals every stored secret under the newest key.

Every seal binds *associated data* naming the row and field the secret belongs to (account,
object, property). A ciphertext copied into another row then fails its tag check instead of
decrypting there.

Keys are written ``<id>:<base64url of 32 random bytes>``; ``generate_key()`` makes one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lockstitch.kit.errors import ConfigurationError

_FORMAT = "v1"
_NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Values an operator might leave in a config file by mistake; refused outside development.
_PLACEHOLDERS = {"changeme", "change-me", "secret", "example", "placeholder", "xxx", "todo"}


class DecryptionError(Exception):
    """A ciphertext could not be opened: unknown key, tampering, or it belongs to another row."""


@dataclass(frozen=True)
class Key:
    key_id: str
    material: bytes

    def __repr__(self) -> str:  # never print key material
        return f"Key({self.key_id!r})"


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    # validate=True: characters outside the alphabet are an error, not silently dropped.
    return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_key(spec: str) -> Key:
    """Parse ``<id>:<base64url 32 bytes>``; raises ``ConfigurationError`` with a fix-it message."""
    key_id, sep, material_text = spec.strip().partition(":")
    if not sep or not _KEY_ID.match(key_id):
        raise ConfigurationError(
            "an encryption key must look like '<id>:<base64 of 32 bytes>' "
            "(generate one with `lockstitch keys generate`)"
        )
    if material_text.strip().lower() in _PLACEHOLDERS:
        raise ConfigurationError(f"encryption key {key_id!r} is a placeholder; generate a real one")
    try:
        material = _b64decode(material_text.strip())
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"encryption key {key_id!r} is not valid base64") from exc
    if len(material) != 32:
        raise ConfigurationError(f"encryption key {key_id!r} must be 32 bytes (AES-256), got {len(material)}")
    if len(set(material)) < 8:
        raise ConfigurationError(f"encryption key {key_id!r} has too little entropy to be a real key")
    return Key(key_id, material)


def generate_key(key_id: str | None = None) -> str:
    """A new key spec, ``k<6 hex>:<base64url>`` unless an id is given."""
    key_id = key_id or f"k{secrets.token_hex(3)}"
    return f"{key_id}:{_b64encode(os.urandom(32))}"


class Keyring:
    """Newest key first. Seals with ``keys[0]``; opens with whichever key the ciphertext names."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigurationError("the keyring is empty: configure at least one encryption key")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ConfigurationError("encryption key ids must be unique")
        self._keys = {k.key_id: AESGCM(k.material) for k in keys}
        self._materials = [k.material for k in keys]
        self.newest_id = keys[0].key_id

    @classmethod
    def from_specs(cls, specs: list[str]) -> Keyring:
        return cls([parse_key(s) for s in specs])

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.newest_id].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{_FORMAT}.{self.newest_id}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, aad: bytes) -> str:
        key_id, blob = self._split(token)
        aead = self._keys.get(key_id)
        if aead is None:
            raise DecryptionError(f"ciphertext sealed with unknown key {key_id!r}")
        try:
            raw = _b64decode(blob)
            opened = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("ciphertext does not open for this row (tampered or moved)") from exc
        return opened.decode("utf-8")

    def derived_keys(self, purpose: bytes) -> list[bytes]:
        """Keys for one purpose other than sealing (signing links...), one per key, newest first:
        HMAC-SHA256 of ``purpose`` under each key's material. Sign with the first, accept any, so
        what was signed just before a rotation still verifies. Distinct purposes get unrelated
        keys, and no derived key reveals the material it came from."""
        return [hmac.new(material, purpose, hashlib.sha256).digest() for material in self._materials]

    def key_id_of(self, token: str) -> str:
        return self._split(token)[0]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.newest_id

    def reseal(self, token: str, aad: bytes) -> str:
        """Open with its own key, seal with the newest (same associated data)."""
        return self.encrypt(self.decrypt(token, aad), aad)

    @staticmethod
    def _split(token: str) -> tuple[str, str]:
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != _FORMAT:
            raise DecryptionError("not a Lockstitch ciphertext")
        return parts[1], parts[2]
