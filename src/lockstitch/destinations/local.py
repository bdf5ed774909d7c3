"""Destinations on the Lockstitch server's own disk (DuckDB files, JSON Lines folders).

Each account has its own folder for them, ``$LOCKSTITCH_HOME/warehouses/<account id>``
(``Settings.account_warehouse``). Their one property, ``path``, names a location inside it:
relative paths are taken from that folder, absolute ones must lie inside it, and symbolic links
are followed before deciding (``kit.paths``), so a partner can never make a target write
elsewhere on the server, into another account's warehouse or onto the server's own files.
Without a ``path`` the default is the target's own setting for the mapped config key
(``filepath: warehouse.duckdb``, ``destination_path: jsonl`` in the type's YAML), resolved the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.config import Settings
from lockstitch.kit.paths import PathRefusedError, confine


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
OUTSIDE_HOME = "must name a location inside the account's own folder for local destinations"


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


@dataclass(frozen=True)
class Warehouse:
    """One account's folder for local destinations, and the server files never to touch."""

    root: Path
    server_paths: tuple[Path, ...] = ()

    @classmethod
    def of(cls, settings: Settings, account_id: int) -> Warehouse:
        return cls(settings.account_warehouse(account_id), tuple(settings.server_paths()))

    def resolve(self, value: str) -> Path | None:
        """``value`` as an absolute path inside the folder (not the folder itself); None when it
        would leave it or name a file of the server's."""
        try:
            return confine(self.root, value, self.server_paths)
        except PathRefusedError:
            return None

    def location(self, destination_type: DestinationType, properties: dict[str, str]) -> Path | None:
        """Where a local destination writes (its file, or its base folder); None if it has no
        valid one."""
        store = store_of(destination_type)
        if store is None:
            return None
        value = properties.get(store.property) or default_location(destination_type, store)
        return self.resolve(value) if value else None

    def shown(self, path: Path) -> str:
        """A location for a message: relative to the account's folder, which a client need not know."""
        try:
            return str(path.relative_to(self.root.resolve()))
        except ValueError:
            return path.name
