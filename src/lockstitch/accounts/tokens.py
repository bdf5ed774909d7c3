"""API access token format: generation and the stored hash."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "ac_"
HINT_LENGTH = 7  # "ac_" + 4 characters: enough to tell tokens apart, useless to an attacker


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hint(token: str) -> str:
    return token[:HINT_LENGTH]


def looks_like_token(value: str) -> bool:
    return value.startswith(PREFIX) and 20 <= len(value) <= 200
