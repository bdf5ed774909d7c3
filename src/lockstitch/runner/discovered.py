"""Discovery output, made uniform before it becomes streams.

Taps disagree on where they put things (verified on this machine, see README "Plugins"):
meltanolabs-tap-postgres gives ``is_view`` and ``key_properties`` at the top level and an empty
``forced-replication-method``; the pipelinewise/singer-io MySQL taps put ``inclusion`` inside the
schema's properties instead of the metadata. Stitch's streams always show stream metadata with
``table-key-properties`` and ``is-view`` for databases, and field metadata with ``inclusion``.
Here each stream is brought to that shape; the tap's own ids and names stay as they are, since
the tap matches its catalog by them.
"""

from __future__ import annotations

import copy
from typing import Any


def normalize(catalog: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(catalog)
    out["streams"] = [
        _stream(s) for s in out.get("streams", []) if isinstance(s, dict) and s.get("tap_stream_id")
    ]
    return out


def _stream(stream: dict[str, Any]) -> dict[str, Any]:
    metadata = [
        m for m in stream.get("metadata", []) if isinstance(m, dict) and isinstance(m.get("breadcrumb"), list)
    ]
    by_crumb = {tuple(m["breadcrumb"]): m.setdefault("metadata", {}) for m in metadata}
    top = by_crumb.get(())
    if top is None:
        top = {}
        metadata.append({"breadcrumb": [], "metadata": top})
    # Empty values mean "not set" to the tap; to a partner they read as a constraint.
    for key in [k for k, v in top.items() if v in ("", None) and k != "selected"]:
        del top[key]
    if "is_view" in stream and "is-view" not in top:
        top["is-view"] = bool(stream["is_view"])
    if "table-key-properties" not in top and isinstance(stream.get("key_properties"), list):
        top["table-key-properties"] = list(stream["key_properties"])
    properties = stream.get("schema", {}).get("properties", {})
    for name, schema in properties.items():
        field = by_crumb.get(("properties", name))
        if field is None:
            field = {}
            metadata.append({"breadcrumb": ["properties", name], "metadata": field})
        inclusion = schema.get("inclusion") if isinstance(schema, dict) else None
        field.setdefault("inclusion", inclusion or "available")
    stream["metadata"] = metadata
    return stream
