"""Stitch properties -> a tap's config, through the type's mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstitch.catalog.models import ConfigMapping
from lockstitch.catalog.tap_config import ConfigError, LocalFiles, build_config


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
    """A local path that leaves the account's files root is refused, naming the property only."""
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    with pytest.raises(ConfigError, match=r"^property path must name files inside the account's local"):
        build_config(mapping, {}, {"path": path}, files=LocalFiles(tmp_path))


def test_local_globs_resolve_under_the_root(tmp_path: Path) -> None:
    """A glob inside the root reaches the tap as an absolute glob under that root."""
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    config = build_config(mapping, {}, {"path": "people/*.csv"}, files=LocalFiles(tmp_path))
    assert config["path"] == str(tmp_path.resolve() / "people" / "*.csv")


def test_a_glob_matching_a_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    """Issue 8, finding 2: ``link_f*.csv`` matched a symlink to a file outside the root, and the
    tap followed it. Every file a glob matches is resolved before the tap runs."""
    root, outside = tmp_path / "files" / "1", tmp_path / "secret.csv"
    root.mkdir(parents=True)
    outside.write_text("id,secret\n1,outside\n")
    (root / "link_file.csv").symlink_to(outside)
    (root / "local.csv").write_text("id\n1\n")
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    with pytest.raises(ConfigError, match="inside the account's local files root"):
        build_config(mapping, {}, {"path": "link_f*.csv"}, files=LocalFiles(root))
    with pytest.raises(ConfigError, match="inside the account's local files root"):
        build_config(mapping, {}, {"path": "*.csv"}, files=LocalFiles(root))
    assert build_config(mapping, {}, {"path": "loc*.csv"}, files=LocalFiles(root))["path"] == str(
        root.resolve() / "loc*.csv"
    )


def test_a_link_to_another_accounts_folder_is_refused(tmp_path: Path) -> None:
    """Account 1's root may not lead into account 2's, however the link is named."""
    mine, theirs = tmp_path / "1", tmp_path / "2"
    mine.mkdir()
    theirs.mkdir()
    (theirs / "orders.csv").write_text("id\n1\n")
    (mine / "shared").symlink_to(theirs)
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    for path in ("shared/orders.csv", "shared/*.csv", "s*/orders.csv", "**/*.csv", "../2/orders.csv"):
        with pytest.raises(ConfigError):
            build_config(mapping, {}, {"path": path}, files=LocalFiles(mine))


def test_the_servers_own_files_are_never_read(tmp_path: Path) -> None:
    """Even inside the root, a path onto one of the server's own files is refused."""
    root = tmp_path / "files"
    root.mkdir()
    database = root / "lockstitch.db"
    database.write_text("not yours")
    files = LocalFiles(root, (database.resolve(),))
    mapping = {"path": ConfigMapping(key="path", convert="local-path")}
    for path in ("lockstitch.db", "*.db", "lock*"):
        with pytest.raises(ConfigError):
            build_config(mapping, {}, {"path": path}, files=files)
