"""Paths in the settings are absolute: plugins run with their workspace as working directory, so
a relative home (make run's ./.lockstitch) would point their executable and config nowhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lockstitch.config import Settings


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(home=Path(".lockstitch"), runner={"plugins_dir": "plugins-here"})
    assert settings.home == tmp_path.resolve() / ".lockstitch"
    assert settings.plugins_dir == tmp_path.resolve() / "plugins-here"
    assert settings.files_root.is_absolute()
    os.chdir("/")  # later reads do not depend on where the process stands
    assert settings.home == tmp_path.resolve() / ".lockstitch"


def test_the_default_home_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCKSTITCH_HOME", raising=False)
    assert Settings().home == tmp_path.resolve() / ".lockstitch"
