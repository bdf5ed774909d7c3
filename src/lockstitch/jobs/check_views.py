"""The Connection Check object (Stitch's ``mode: "check"`` job), for sources and destinations.

A check is a job row (``models.ConnectionCheck``) that the worker leases; both ``GET
/v4/sources/{id}/last-connection-check`` and the destinations' check answer with this one shape,
so it lives below both domains. Keys are in the order of Stitch's examples.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from lockstitch.kit.time import to_wire
from lockstitch.models import CheckState, ConnectionCheck


def check_json(check: ConnectionCheck) -> dict[str, Any]:
    # A queued check reads "running" (see models.ConnectionCheck): clients poll until it is not.
    status = CheckState.RUNNING if check.state in (CheckState.PENDING, CheckState.RUNNING) else check.state
    exits = (
        check.check_exit_status,
        check.discovery_exit_status,
        check.tap_exit_status,
        check.target_exit_status,
    )
    return {
        "target_exit_status": check.target_exit_status,
        "tap_error_message": check.tap_error_message,
        "check_exit_status": check.check_exit_status,
        "name": check.name,
        "start_time": to_wire(check.start_time or check.created_at),
        "mode": "check",
        "tap_exit_status": check.tap_exit_status,
        "target_error_message": check.target_error_message,
        "discovery_exit_status": check.discovery_exit_status,
        "status": status,
        "completion_time": to_wire(check.completion_time),
        "error": any(code not in (None, 0) for code in exits),
        "discovery_error_message": check.discovery_error_message,
    }


class ConnectionCheckOut(BaseModel):
    target_exit_status: int | None
    tap_error_message: str | None
    check_exit_status: int | None
    name: str
    start_time: str | None
    mode: Literal["check"]
    tap_exit_status: int | None
    target_error_message: str | None
    discovery_exit_status: int | None
    status: Literal["running", "succeeded", "failed"]
    completion_time: str | None
    error: bool
    discovery_error_message: str | None
