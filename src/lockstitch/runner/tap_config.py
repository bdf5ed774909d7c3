"""A plugin's config file from a connection's properties, through the type's declared mapping.

Stitch keeps every property as a string under Stitch's name (``dbname``, ``"port": "5432"``);
taps want their own names and JSON types (``database``, ``"port": 5432``). The mapping in the
type's YAML (``catalog.models.ConfigMapping``) says where each property goes and how it converts;
fixed ``settings`` come first and mapped values land on top of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockstitch.catalog.models import ConfigMapping


class ConfigError(Exception):
    """A property cannot become what the plugin needs (message names the property, never its value)."""


def build_config(
    mapping: Mapping[str, ConfigMapping],
    settings: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    files_root: Path | None = None,
) -> dict[str, Any]:
    """``settings`` overlaid with every mapped property that has a value."""
    config: dict[str, Any] = copy.deepcopy(dict(settings))
    for name, target in mapping.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        _put(config, target.key.split("."), _convert(name, value, target.convert, files_root))
    return config


def _convert(name: str, value: Any, how: str, files_root: Path | None) -> Any:
    if how == "json":
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
    if how == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"property {name} must be a whole number") from None
    if how == "boolean":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() == "true"
    if how == "csv-list":
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    if how == "local-path":
        return str(_local_path(name, str(value), files_root))
    return value


def _local_path(name: str, value: str, files_root: Path | None) -> Path:
    if files_root is None:
        raise ConfigError(f"property {name} names a local file but no local files root is configured")
    root = files_root.resolve()
    resolved = (root / value).resolve()
    # A glob's fixed part must stay under the root: "../x" or "/etc/x" never reaches the tap.
    fixed = Path(*[part for part in Path(value).parts if not any(c in part for c in "*?[")])
    if not (root / fixed).resolve().is_relative_to(root) or not str(resolved).startswith(str(root)):
        raise ConfigError(f"property {name} must name a path inside the local files root")
    return resolved


def _put(config: dict[str, Any], keys: list[str], value: Any) -> None:
    """Set ``value`` at a dotted path; numeric parts index lists (``files.0.path``)."""
    node: Any = config
    for index, key in enumerate(keys):
        last = index == len(keys) - 1
        if isinstance(node, list):
            position = int(key)
            while len(node) <= position:
                node.append({})
            if last:
                node[position] = value
            else:
                node = node[position]
            continue
        if last:
            node[key] = value
        else:
            nxt = keys[index + 1]
            if not isinstance(node.get(key), (dict, list)):
                node[key] = [] if nxt.isdigit() else {}
            node = node[key]
