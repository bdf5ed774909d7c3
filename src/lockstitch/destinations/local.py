"""Destinations on the Lockstitch server's own disk (DuckDB files, JSON Lines folders).

Their one property, ``path``, names a location under ``$LOCKSTITCH_HOME``: relative paths are taken
from the home directory, absolute ones must lie inside it, and symbolic links are followed before
deciding, so a partner can never make a target write elsewhere on the server. Without a ``path``
the default is the target's own setting for the mapped config key (``filepath: warehouse.duckdb``,
``destination_path: jsonl`` in the type's YAML), resolved the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lockstitch.catalog.destination_type import DestinationType


@dataclass(frozen=True)
class LocalStore:
    property: str  # the Stitch property naming the location
    kind: Literal["file", "folder"]
    # Each source gets a subfolder named after it (targets without a schema setting).
    folder_per_source: bool = False


# By the type's protocol, so an operator's override of a type keeps its rule.
STORES: dict[str, LocalStore] = {
    "lockstitch.duckdb": LocalStore("path", "file"),
    "lockstitch.jsonl": LocalStore("path", "folder", folder_per_source=True),
}
OUTSIDE_HOME = "must name a location inside the Lockstitch home directory"


def store_of(destination_type: DestinationType) -> LocalStore | None:
    return STORES.get(destination_type.details.protocol)


def config_key(destination_type: DestinationType, store: LocalStore) -> str | None:
    """The target config key the location goes to (from the type's mapping)."""
    target = destination_type.definition.target
    if target is None or store.property not in target.config:
        return None
    return target.config[store.property].key


def default_location(destination_type: DestinationType, store: LocalStore) -> str | None:
    target = destination_type.definition.target
    key = config_key(destination_type, store)
    if target is None or key is None:
        return None
    value = target.settings.get(key)
    return value if isinstance(value, str) and value else None


def resolve(home: Path, value: str) -> Path | None:
    """``value`` as an absolute path inside ``home``; None when it would leave it (or is home)."""
    if not value or "\x00" in value:
        return None
    root = home.resolve()
    try:
        resolved = (root / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a name the OS refuses
        return None
    if resolved == root or not resolved.is_relative_to(root):
        return None
    return resolved


def location(home: Path, destination_type: DestinationType, properties: dict[str, str]) -> Path | None:
    """Where a local destination writes (its file, or its base folder); None if it has no valid one."""
    store = store_of(destination_type)
    if store is None:
        return None
    value = properties.get(store.property) or default_location(destination_type, store)
    return resolve(home, value) if value else None


def shown(home: Path, path: Path) -> str:
    """A location for a message: relative to the home directory, which a client need not know."""
    try:
        return str(path.relative_to(home.resolve()))
    except ValueError:
        return path.name
