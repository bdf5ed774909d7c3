"""The canary scan itself: it finds a secret that reaches a log line through the production
formatter, and one in a response; redaction patterns do not hide what the scan must see."""

from __future__ import annotations

import logging

from lockstitch.kit.logging import configure_logging
from tests.canary import CaptureHandler, Scan


def test_scan_finds_leaks_in_lines_and_responses() -> None:
    scan = Scan()
    configure_logging("debug")
    handler = CaptureHandler(scan)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logger = logging.getLogger("lockstitch.canary-selftest")
    logger.addHandler(handler)
    try:
        scan.remember("opaque-token-value-123456", "short", "another-token-9876543210")
        logger.warning("refreshed with %s", "opaque-token-value-123456")
        logger.warning("nothing to see")
        logging.getLogger("tests.helper").warning("another-token-9876543210")  # tests' own: ignored
        scan.record_response('{"ok": true}')
        assert scan.leaks() == {"log lines": ["opaque-t..."]}
        scan.record_response('{"token": "another-token-9876543210"}')
        assert scan.leaks()["responses"] == ["another-..."]
        assert "short" not in scan.canaries
    finally:
        logger.removeHandler(handler)


def test_known_token_patterns_are_redacted_before_the_scan_sees_them() -> None:
    scan = Scan()
    configure_logging("debug")
    handler = CaptureHandler(scan)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logger = logging.getLogger("lockstitch.canary-selftest")
    logger.addHandler(handler)
    try:
        token = "ac_" + "x" * 43
        scan.remember(token)
        logger.warning("request with Authorization: Bearer %s", token)
        assert scan.leaks() == {}
        assert "[redacted]" in scan.log_lines[-1]
    finally:
        logger.removeHandler(handler)


def test_the_scan_finds_secrets_in_every_encoding() -> None:
    """A token endpoint echoing ``Authorization: Basic base64(id:secret)``, a URL-encoded or a
    JSON-escaped secret: each is a leak the scan reports, with its encoding."""
    import base64  # noqa: PLC0415
    from urllib.parse import quote  # noqa: PLC0415

    secret = 'cl1ent/secret+value="x"'
    for prefix in ("", "a", "ab", "my-client-id:"):  # every base64 alignment
        scan = Scan()
        scan.remember(secret)
        basic = base64.b64encode(f"{prefix}{quote(secret, safe='')}".encode()).decode()
        scan.record_response(f'{{"last_error": "echo: Basic {basic}"}}')
        assert scan.leaks() == {"responses": ["cl1ent/s... (base64)"]}, prefix
    for text, how in (
        (quote(secret, safe=""), "url-encoded"),
        ('cl1ent/secret+value=\\"x\\"', "json-escaped"),
    ):
        scan = Scan()
        scan.remember(secret)
        scan.record_line(f"refresh failed: {text}")
        assert scan.leaks() == {"log lines": [f"cl1ent/s... ({how})"]}, how
