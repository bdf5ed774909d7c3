"""Loading the catalogue: packaged definitions first, then each operator directory in order.

A file in an operator directory whose ``type`` matches a packaged type replaces it; a new
``type`` adds one. A file that does not validate stops start-up with its path and the problem,
because serving a half-understood type would accept properties nobody can run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from lockstitch.catalog import parse_cache
from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.models import DestinationTypeFile, PluginDef, SourceTypeFile
from lockstitch.catalog.providers import ProviderSpec, load_providers
from lockstitch.catalog.source_type import SourceType
from lockstitch.kit.errors import ConfigurationError

PACKAGED_SOURCES = Path(__file__).parent / "definitions" / "sources"
PACKAGED_DESTINATIONS = Path(__file__).parent / "definitions" / "destinations"
T = TypeVar("T")
# libyaml's loader when present: several times faster than the pure-Python one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Catalog:
    def __init__(
        self,
        source_types: Iterable[SourceType],
        providers: dict[str, ProviderSpec] | None = None,
        destination_types: Iterable[DestinationType] = (),
    ) -> None:
        self._sources = {t.type: t for t in source_types}
        self._ordered = sorted(self._sources.values(), key=lambda t: t.type)
        self._destinations = {t.type: t for t in destination_types}
        self.providers = providers or {}

    def destination_type(self, name: str) -> DestinationType | None:
        return self._destinations.get(name)

    def destination_types(self) -> list[DestinationType]:
        return sorted(self._destinations.values(), key=lambda t: t.type)

    def plugins(self) -> list[tuple[str, PluginDef]]:
        """Every tap and target the catalogue names, with the type that names it."""
        found: list[tuple[str, PluginDef]] = [
            (t.type, t.definition.tap) for t in self._ordered if t.definition.tap
        ]
        found += [(t.type, t.definition.target) for t in self.destination_types() if t.definition.target]
        return found

    def source_type(self, name: str) -> SourceType | None:
        return self._sources.get(name)

    def source_types(self) -> list[SourceType]:
        return self._ordered


def load_catalog(extra_dirs: Iterable[Path] = (), cache_dir: Path | None = None) -> Catalog:
    """Packaged types and providers, then each operator directory (source types in it, providers
    in its ``providers/`` folder, destination types in its ``destinations/`` folder). Every OAuth
    provider a type names must exist. With ``cache_dir``, the parsed files are kept there between
    starts (``catalog.parse_cache``); every type is still validated."""
    providers = load_providers()
    source_paths: list[Path] = []
    destination_paths: list[Path] = []
    for directory in [PACKAGED_SOURCES, *extra_dirs]:
        if not directory.is_dir():
            raise ConfigurationError(f"source type directory {directory} does not exist")
        source_paths += sorted(directory.glob("*.y*ml"))
        if directory != PACKAGED_SOURCES and (directory / "providers").is_dir():
            providers.update(load_providers(directory / "providers"))
        destination_dir = (
            PACKAGED_DESTINATIONS if directory == PACKAGED_SOURCES else directory / "destinations"
        )
        destination_paths += sorted(destination_dir.glob("*.y*ml"))
    raw = parse_cache.parsed([*source_paths, *destination_paths], cache_dir, _parse)
    found: dict[str, SourceType] = {}
    for path in source_paths:  # later directories replace earlier ones' types
        source_type = _build(path, raw[path], _source_type)
        found[source_type.type] = source_type
    destinations: dict[str, DestinationType] = {}
    for path in destination_paths:
        destination_type = _build(path, raw[path], _destination_type)
        destinations[destination_type.type] = destination_type
    for source_type in found.values():
        oauth = source_type.definition.oauth
        if oauth is not None and oauth.provider not in providers:
            raise ConfigurationError(f"{source_type.origin}: unknown OAuth provider {oauth.provider!r}")
    return Catalog(found.values(), providers, destinations.values())


def load_source_type(path: Path) -> SourceType:
    return _build(path, _parse(path), _source_type)


def load_destination_type(path: Path) -> DestinationType:
    return _build(path, _parse(path), _destination_type)


def _source_type(raw: Any, path: Path) -> SourceType:
    return SourceType(SourceTypeFile.model_validate(raw), origin=str(path))


def _destination_type(raw: Any, path: Path) -> DestinationType:
    return DestinationType(DestinationTypeFile.model_validate(raw), origin=str(path))


def _parse(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None


def _build(path: Path, raw: Any, build: Callable[[Any, Path], T]) -> T:
    try:
        return build(raw, path)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"{path}: {problems}") from None
    except ValueError as exc:  # a json_schema that does not compile
        raise ConfigurationError(f"{path}: {exc}") from None
