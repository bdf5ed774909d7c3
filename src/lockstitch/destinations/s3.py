"""What the ``s3`` destination type means beyond its card: keys, bucket names, the sentinel.

* ``s3_key_format_string`` is Stitch's, e.g.
  ``[integration_name]/[table_name]/[table_version]_[timestamp_loaded].csv``. The target
  (pipelinewise-target-s3-csv) takes a ``naming_convention`` with ``{stream}``, ``{timestamp}``
  and ``{date}``: ``[table_name]`` -> ``{stream}``, ``[timestamp_loaded]`` ->
  ``{timestamp}``, ``[integration_name]`` -> the source's name (known when the target config is
  written), ``[table_version]`` -> ``{timestamp}`` (the target keeps no table versions).
* A bucket name must be one S3 accepts (3 to 63 lower-case letters, digits, dots and hyphens):
  it becomes part of a host name or a path, so nothing else may get that far.
* ``sentinel_key``: Stitch fills it at creation (``stitch-challenge-file-<uuid>``); the
  connection check writes that object and deletes it again.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

PROTOCOL = "s3"
SENTINEL_PREFIX = "stitch-challenge-file-"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TOKENS = {
    "[table_name]": "{stream}",
    "[timestamp_loaded]": "{timestamp}",
    "[table_version]": "{timestamp}",
}


def new_sentinel_key() -> str:
    return f"{SENTINEL_PREFIX}{uuid.uuid4()}"


def valid_bucket(name: str) -> bool:
    return bool(_BUCKET.match(name)) and ".." not in name


def naming_convention(key_format: str, source_name: str) -> str:
    """The target's naming convention for Stitch's key format string, for one source."""
    rendered = key_format.replace("[integration_name]", source_name)
    for token, replacement in _TOKENS.items():
        rendered = rendered.replace(token, replacement)
    return rendered.lstrip("/")


def finish_target_config(protocol: str, config: dict[str, Any], source_name: str) -> None:
    """Rewrite the mapped key format for the source (no-op for other protocols)."""
    if protocol != PROTOCOL:
        return
    key_format = config.get("naming_convention")
    if isinstance(key_format, str):
        config["naming_convention"] = naming_convention(key_format, source_name)
