"""Stitch wire objects built from rows: the Extraction object (spec 3.12), the Load object (3.13)
and the pagination wrapper of their lists (spec 5). Keys are in the order of Stitch's examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lockstitch.kit.time import to_wire, to_wire_ceil
from lockstitch.models import Extraction, Load

PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    @property
    def last(self) -> int:
        """The last page that has records (1 when there are none)."""
        return max(1, -(-self.total // PAGE_SIZE))


def page_json(path: str, page: Page, data: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"data", "page", "total", "links"}``. ``links`` is ``{}`` when everything fits on the page
    asked for; otherwise relative ``next`` and/or ``previous`` URLs. Past the end, ``previous``
    points at the last page that has records (not at another empty page)."""
    links: dict[str, str] = {}
    if page.number < page.last:
        links["next"] = f"{path}?page={page.number + 1}"
    if page.number > 1:
        links["previous"] = f"{path}?page={min(page.number - 1, page.last)}"
    return {"data": data, "page": page.number, "total": page.total, "links": links}


def extraction_json(extraction: Extraction) -> dict[str, Any]:
    return {
        "target_exit_status": extraction.target_exit_status,
        "job_name": extraction.job_name,
        # A job stopped before a worker started it never had a start time: it is "started" when
        # it was queued, so clients that parse both times always find two.
        "start_time": to_wire(extraction.start_time or extraction.created_at),
        "stitch_client_id": extraction.account_id,
        "tap_exit_status": extraction.tap_exit_status,
        "source_type": extraction.source_type,
        "target_description": extraction.target_description,
        "discovery_exit_status": extraction.discovery_exit_status,
        "discovery_description": extraction.discovery_description,
        "tap_description": extraction.tap_description,
        "completion_time": to_wire(extraction.completion_time),
        "source_id": extraction.source_id,
    }


def load_json(load: Load) -> dict[str, Any]:
    loaded_at = load.last_batch_loaded_at
    return {
        "stitch_client_id": load.account_id,
        "source_name": load.source_name,
        "stream_name": load.stream_name,
        # Rounded up (spec 9.16): never earlier than the last line of the log that produced it.
        "last_batch_loaded_at": to_wire_ceil(loaded_at) if loaded_at is not None else None,
        "error_state": load.error_state,
    }
