"""Stitch properties -> a tap's config, through the type's mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstitch.catalog.models import ConfigMapping
from lockstitch.runner.tap_config import ConfigError, build_config


def test_names_types_and_nesting() -> None:
    mapping = {
        "dbname": ConfigMapping(key="database"),
        "port": ConfigMapping(key="port", convert="integer"),
        "ssl": ConfigMapping(key="ssl_enable", convert="boolean"),
        "ssh_port": ConfigMapping(key="ssh_tunnel.port", convert="integer"),
        "keys": ConfigMapping(key="files.0.primary_keys", convert="csv-list"),
        "streams": ConfigMapping(key="streams", convert="json"),
    }
    values = {
        "dbname": "app",
        "port": "5432",
        "ssl": "false",
        "ssh_port": "22",
        "keys": "id, region",
        "streams": [{"name": "a"}],
        "unmapped": "never passed",
    }
    config = build_config(mapping, {"filter_schemas": ["public"], "files": [{"format": "csv"}]}, values)
    assert config == {
        "filter_schemas": ["public"],
        "files": [{"format": "csv", "primary_keys": ["id", "region"]}],
        "database": "app",
        "port": 5432,
        "ssl_enable": False,
        "ssh_tunnel": {"port": 22},
        "streams": [{"name": "a"}],
    }


def test_settings_are_not_shared_between_configs() -> None:
    settings = {"files": [{"format": "csv"}]}
    build_config({"p": ConfigMapping(key="files.0.path")}, settings, {"p": "x"})
    assert settings == {"files": [{"format": "csv"}]}


def test_bad_integer_names_the_property_not_the_value() -> None:
    with pytest.raises(ConfigError, match=r"^property port must be a whole number$"):
        build_config({"port": ConfigMapping(key="port", convert="integer")}, {}, {"port": "secret-ish"})


@pytest.mark.parametrize("path", ["../x.csv", "/etc/passwd", "a/../../x.csv", "../*/x.csv"])
def test_local_paths_stay_under_the_root(tmp_path: Path, path: str) -> None:
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    with pytest.raises(ConfigError, match="inside the local files root"):
        build_config(mapping, {}, {"path": path}, files_root=tmp_path)


def test_local_globs_resolve_under_the_root(tmp_path: Path) -> None:
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    config = build_config(mapping, {}, {"path": "people/*.csv"}, files_root=tmp_path)
    assert config["path"] == str(tmp_path.resolve() / "people" / "*.csv")
