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
