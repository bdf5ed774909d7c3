"""Short-lived signed URLs for extraction logs (spec 2.8, 9.13).

Stitch answers ``GET /v4/{client}/extractions/{job_name}`` with a 302 to a pre-signed S3 URL.
Lockstitch signs a URL on itself instead::

    {base_url}/logs/{job_name}?expires=<unix seconds>&signature=<hex>

    signature = HMAC-SHA256(key, job_name + "\\n" + expires)
    key       = Keyring.derived_keys(PURPOSE)[0]   (any of the keyring's keys verifies)

Whoever holds the URL may read that one log until it expires; no bearer token is needed (a
client follows the redirect without re-sending its Authorization header, as with S3). Keys are
derived from the encryption keyring, so every API process of a deployment accepts what any
other signed, and no extra secret has to be configured.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

from lockstitch.kit.crypto import Keyring

# How long a signed log URL stays valid.
LIFETIME_SECONDS = 600
PURPOSE = b"lockstitch log urls"
# ``expires`` values longer than this are not timestamps (and would be slow to parse).
_MAX_EXPIRES_DIGITS = 12


class LinkRejectedError(Exception):
    """A log URL that does not grant access: its message is safe to show."""


def _mac(key: bytes, job_name: str, expires: str) -> str:
    message = f"{job_name}\n{expires}".encode("utf-8", errors="replace")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(keyring: Keyring, job_name: str, expires: int) -> str:
    return _mac(keyring.derived_keys(PURPOSE)[0], job_name, str(expires))


def signed_url(base_url: str, keyring: Keyring, job_name: str, now: int) -> str:
    """An absolute URL that serves ``job_name``'s log until ``now + LIFETIME_SECONDS``."""
    expires = now + LIFETIME_SECONDS
    query = urlencode({"expires": expires, "signature": sign(keyring, job_name, expires)})
    return f"{base_url.rstrip('/')}/logs/{quote(job_name, safe='')}?{query}"


def verify(keyring: Keyring, job_name: str, expires: str | None, signature: str | None, now: int) -> None:
    """Raise ``LinkRejectedError`` unless the URL was signed here and has not expired.

    The signature is checked before the time, in constant time against every key, so a forged
    URL learns nothing from the answer's timing or wording beyond "rejected"."""
    if expires is None or signature is None:
        raise LinkRejectedError("this log link is incomplete")
    given = signature.encode("utf-8", errors="replace")
    valid = False
    for key in keyring.derived_keys(PURPOSE):
        # compare_digest on bytes: any input (non-ASCII included) compares in constant time.
        valid |= hmac.compare_digest(_mac(key, job_name, expires).encode("ascii"), given)
    if not valid:
        raise LinkRejectedError("this log link is not valid")
    if not (expires.isascii() and expires.isdigit() and len(expires) <= _MAX_EXPIRES_DIGITS):
        raise LinkRejectedError("this log link is not valid")
    if int(expires) < now:
        raise LinkRejectedError("this log link has expired; ask the API for a new one")
