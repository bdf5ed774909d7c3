"""The parsed-catalogue cache makes start-up faster and never different."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lockstitch.catalog.loader import PACKAGED_SOURCES, load_catalog


def _cards(catalog_dir: Path | None, cache: Path) -> dict[str, object]:
    catalog = load_catalog([catalog_dir] if catalog_dir else [], cache)
    return {t.type: t.type_card("standard") for t in catalog.source_types()}


def test_a_cached_start_serves_the_same_catalogue(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _cards(None, cache)
    assert len(list(cache.glob("catalog-*.json"))) == 1
    assert _cards(None, cache) == first == _cards(None, tmp_path / "other")


def test_the_cache_is_used_and_a_changed_file_is_read_again(tmp_path: Path) -> None:
    operator = tmp_path / "types"
    operator.mkdir()
    github = operator / "github.yaml"
    shutil.copy(PACKAGED_SOURCES / "platform.github.yaml", github)
    cache = tmp_path / "cache"
    _cards(operator, cache)
    # Rewrite the cached copy of the operator's file: a start that matches the files reads it.
    (written,) = cache.glob("catalog-*.json")
    stored = json.loads(written.read_text())
    stored[str(github)]["details"]["pipeline_state"] = "alpha"
    written.write_text(json.dumps(stored))
    cached = load_catalog([operator], cache).source_type("platform.github")
    assert cached is not None
    assert cached.details.pipeline_state == "alpha"
    # A changed file (new size and time) is parsed again, whatever the old cache says.
    github.write_text(github.read_text().replace("pipeline_state: released", "pipeline_state: beta"))
    os.utime(github, ns=(1, 1))
    changed = load_catalog([operator], cache).source_type("platform.github")
    assert changed is not None
    assert changed.details.pipeline_state == "beta"
    assert len(list(cache.glob("catalog-*.json"))) == 2


def test_a_broken_or_unwritable_cache_falls_back_to_the_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _cards(None, cache)
    for written in cache.glob("catalog-*.json"):
        written.write_bytes(b"{not json")
    assert _cards(None, cache) == expected
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    assert _cards(None, blocked) == expected  # cannot create a directory there: parsed instead
