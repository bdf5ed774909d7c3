"""The plugin options that change what the installer does beyond ``pip install`` (real installs
of target-jsonl 0.1.4, as in test_plugins.py): ``collections_aliases``, ``entry_point`` and
``build_constraints``. Their venv keys are covered with the others in test_plugins.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from lockstitch.catalog.models import TargetDef
from lockstitch.runner.plugins import PluginInstallError, Plugins
from lockstitch.runner.venv_hooks import write_entry_point
from tests.oauth_server.harness import default_cache_root
from tests.runner.test_plugins import JSONL, _leftovers, _runs


@pytest.fixture
def cached() -> Plugins:
    return Plugins(default_cache_root() / "plugins")


def test_entry_point_must_be_a_dotted_module_and_callable_and_stays_in_bin(tmp_path: Path) -> None:
    for bad in ("target_jsonl", "target_jsonl:main()", "os:system; rm", ":main", "a b:main"):
        with pytest.raises(ValidationError):
            TargetDef(package="p", version="1", executable="p", entry_point=bad)
    assert (
        TargetDef(package="p", version="1", executable="p", entry_point="a.b:C.cli").entry_point
        == "a.b:C.cli"
    )
    with pytest.raises(ValueError, match="not a file name"):
        write_entry_point(tmp_path, "../escape", "target_jsonl:main")
    assert list(tmp_path.iterdir()) == []


def _imports_collections_mapping(venv: Path) -> subprocess.CompletedProcess[str]:
    code = "import collections; from collections import Mapping, MutableMapping, Sequence; print(Mapping)"
    return subprocess.run(
        [venv / "bin" / "python", "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.slow
async def test_collections_aliases_are_restored_in_that_venv_only(tmp_path: Path, cached: Plugins) -> None:
    """A plugin installed with ``collections_aliases`` starts with ``collections.Mapping`` (and the
    other aliases Python 3.10 removed) importable, and still runs; a venv without the option is
    untouched (the import fails there, as on any Python 3.10+)."""
    aliased = JSONL.model_copy(update={"collections_aliases": True})
    plugins = Plugins(tmp_path)
    executable = await plugins.ensure(aliased)
    assert plugins.is_installed(aliased)
    result = _imports_collections_mapping(plugins.path(aliased))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "<class 'collections.abc.Mapping'>"
    _runs(executable)

    await cached.ensure(JSONL)
    plain = _imports_collections_mapping(cached.path(JSONL))
    assert plain.returncode != 0
    assert "cannot import name 'Mapping' from 'collections'" in plain.stderr


@pytest.mark.slow
async def test_entry_point_becomes_the_executable_when_the_package_declares_none(tmp_path: Path) -> None:
    """A plugin whose console script is not the executable named (as a package that declares
    none) gets ``bin/<executable>`` written from ``entry_point``, and that script runs its CLI."""
    named = JSONL.model_copy(update={"executable": "lockstitch-jsonl", "entry_point": "target_jsonl:main"})
    plugins = Plugins(tmp_path)
    executable = await plugins.ensure(named)
    assert executable == plugins.path(named) / "bin" / "lockstitch-jsonl"
    assert plugins.is_installed(named)
    _runs(executable, "lockstitch-jsonl")


@pytest.mark.slow
async def test_build_constraints_reach_pip(tmp_path: Path) -> None:
    """``build_constraints`` are constraints pip applies (here one the plugin's own pin cannot
    meet, so the install fails on it and the half-made venv goes)."""
    impossible = JSONL.model_copy(update={"build_constraints": ["target-jsonl==0.1.3"]})
    plugins = Plugins(tmp_path)
    lines: list[str] = []
    with pytest.raises(PluginInstallError, match="conflicting dependencies"):
        await plugins.ensure(impossible, lines.append)
    assert "The user requested (constraint) target-jsonl==0.1.3" in [line.strip() for line in lines]
    assert _leftovers(tmp_path) == []
