"""Replication errors, in the jobs shape ``{"error": {"type": ..., "message": ...}}`` (spec 2.7, 4).

The sync messages are Stitch's, byte for byte (clients compare them). ``already_running`` is an
error *body* with status 200, as Stitch answers it. The extractions and loads endpoints document
no error bodies beyond their statuses; they use the same jobs shape (they are the "jobs" resource
type of the rate limits, spec 6), with types named after what went wrong.
"""

from __future__ import annotations

from lockstitch.kit.errors import JobError
from lockstitch.kit.naming import quoted

# Client-supplied ids are cut to this length when echoed in a message.
ECHO_LIMIT = 40


def invalid_source(raw_source_id: str, client_id: int) -> JobError:
    """One answer for an unknown, malformed or another account's source id."""
    return JobError(
        "invalid_source",
        f"Unable to locate source({quoted(raw_source_id, ECHO_LIMIT)}) for client ({client_id})",
    )


def source_deleted() -> JobError:
    return JobError("invalid_source", "Integration is deleted.")


def already_running(client_id: int, source_id: int) -> JobError:
    return JobError(
        "already_running",
        f"Did not create job for client-id: {client_id}; connection-id: {source_id} "
        "because one already exists",
        status_code=200,
    )


def cannot_run(client_id: int, source_id: int, reason: str) -> JobError:
    # Stitch's docs carry this "generic" error commented out; Lockstitch uses it for a source
    # that cannot run yet, with the reason after the documented prefix.
    return JobError(
        "generic", f"Could not create job for client-id: {client_id}; connection-id: {source_id}: {reason}"
    )


def client_not_allowed(raw_client_id: str) -> JobError:
    """Spec 2.8: a token "has no access to that client ID" -> 401."""
    return JobError(
        "unauthorized",
        f"the API access token has no access to client ({quoted(raw_client_id, ECHO_LIMIT)})",
        status_code=401,
    )


def invalid_page(raw_page: str) -> JobError:
    return JobError("invalid_page", f"page must be a positive integer, got ({quoted(raw_page, ECHO_LIMIT)})")


def job_not_found(raw_job_name: str) -> JobError:
    return JobError("not_found", f"extraction job not found ({quoted(raw_job_name, 200)})", status_code=404)


def log_not_written(job_name: str) -> JobError:
    return JobError(
        "not_found",
        f"extraction job ({job_name}) has no log yet: logs are written when a job completes",
        status_code=404,
    )
