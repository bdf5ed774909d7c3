"""The reason a person can act on, from a tap's stderr (samples as the real taps print them)."""

from __future__ import annotations

from lockstitch.runner.messages import error_message

PG_PASSWORD = [
    "Traceback (most recent call last):",
    '  File "/x/site-packages/sqlalchemy/engine/base.py", line 145, in __init__',
    "    self._dbapi_connection = engine.raw_connection()",
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "
    '"127.0.0.1", port 5433 failed: FATAL:  password authentication failed for user "postgres"',
    "",
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
]


def test_postgres_password_failure_reads_like_stitch() -> None:
    assert error_message(PG_PASSWORD, [], "x") == 'FATAL:  password authentication failed for user "postgres"'


def test_mysql_access_denied_keeps_the_server_words() -> None:
    lines = [
        "INFO Backing off connect_with_backoff(...) for 1.6s (pymysql.err.OperationalError: ...)",
        "Traceback (most recent call last):",
        '  File "/x/tap_mysql/connection.py", line 20, in connect',
        "pymysql.err.OperationalError: "
        "(1045, \"Access denied for user 'tap'@'127.0.0.1' (using password: YES)\")",
    ]
    message = error_message(lines, [], "x")
    assert message == "(1045, \"Access denied for user 'tap'@'127.0.0.1' (using password: YES)\")"


def test_a_short_reason_keeps_its_exception_name() -> None:
    assert error_message(["Traceback (most recent call last):", "KeyError: 'format'"], [], "x") == (
        "KeyError: 'format'"
    )


def test_log_lines_without_a_traceback() -> None:
    lines = ["time=1 name=tap level=INFO message=hello", "CRITICAL only INCREMENTAL, LOG_BASED supported"]
    assert error_message(lines, [], "x") == "only INCREMENTAL, LOG_BASED supported"


def test_secrets_are_scrubbed_and_fallback_used() -> None:
    lines = ["ValueError: token s3cr3t-value-123 was refused"]
    assert error_message(lines, ["s3cr3t-value-123"], "x") == "ValueError: token [redacted] was refused"
    assert (
        error_message(["", "   "], [], "discovery exited with status 2") == "discovery exited with status 2"
    )
