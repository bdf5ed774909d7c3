"""Secret scrubbing and redaction (kit/logging.py): a secret is removed in every form it travels in.

Issue 8, finding 5: a token endpoint that echoes the request's ``Authorization`` header put
``Basic <base64 of client_id:secret>`` into ``last_error``, the log and the database. ``scrub``
now removes a secret's URL-encoded, JSON-escaped and base64 forms (at any alignment), and the log
sink redacts any Basic credential.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from lockstitch.kit.logging import REDACTED, redact_text, scrub
from tests.canary import encodings

SECRET = 's3cr3t:&=value/with+odd"chars'


def _basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()


@pytest.mark.parametrize("client_id", ["a", "ab", "abc", "my-client", "1234.apps.example.com"])
def test_a_basic_header_echoed_back_loses_the_secret(client_id: str) -> None:
    """Whatever the client id's length (so at every base64 alignment)."""
    echoed = f"invalid_request: got header Basic {_basic(client_id, SECRET)} which we did not like"
    cleaned = scrub(echoed, [SECRET])
    assert REDACTED in cleaned
    assert not any(form in cleaned for form in encodings(SECRET))
    assert cleaned.endswith("which we did not like")


@pytest.mark.parametrize(
    "form",
    [
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ],
)
def test_each_encoding_of_a_secret_is_scrubbed(form: str) -> None:
    cleaned = scrub(f"error_description: {form} (end)", [SECRET])
    assert form not in cleaned
    assert cleaned.startswith("error_description: ")
    assert cleaned.endswith(" (end)")


def test_a_basic_credential_is_redacted_in_any_log_line() -> None:
    """The log sink does not need to know the secret: a Basic credential is redacted as such."""
    line = f"provider said: Authorization: Basic {_basic('id', 'unknown-secret-1')}"
    assert redact_text(line) == f"provider said: Authorization: Basic {REDACTED}"
    assert redact_text("use Basic authentication or body") == "use Basic authentication or body"


def test_text_without_secrets_is_unchanged() -> None:
    text = "invalid_grant: refresh token expired at 2026-12-01T10:00:00Z"
    assert scrub(text, [SECRET, "another-secret", None]) == text
