"""Plugin venvs: real installs from PyPI (target-jsonl 0.1.4, small and pure enough to be quick).

Tests that only need *an* installed plugin share one under the test cache (installed once per
machine); tests about installing itself use fresh directories (pip's own cache keeps them fast).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lockstitch.catalog.models import TapDef, TargetDef
from lockstitch.runner.plugins import (
    MARKER,
    PluginInstallError,
    Plugins,
    pip_environment,
    plugin_key,
)
from tests.oauth_server.harness import default_cache_root

JSONL = TargetDef(package="target-jsonl", version="0.1.4", executable="target-jsonl")
MISSING = TapDef(
    package="tap-lockstitch-does-not-exist", version="0.0.1", executable="tap-lockstitch-does-not-exist"
)
INSTALLED_LINE = "Successfully installed"
LOCKSTITCH = str(Path(sys.executable).parent / "lockstitch")


def _pip_ran(lines: list[str]) -> int:
    return sum(line.startswith(INSTALLED_LINE) for line in lines)


def _runs(executable: Path, prog: str = "target-jsonl") -> None:
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"usage: {prog}" in result.stdout


def _leftovers(root: Path) -> list[str]:
    """What is under the root besides lock files."""
    return sorted(p.name for p in root.iterdir() if p.suffix != ".lock") if root.exists() else []


@pytest.fixture
def cached() -> Plugins:
    return Plugins(default_cache_root() / "plugins")


# --- keys and environment -------------------------------------------------------------------


def test_key_names_the_plugin_and_changes_with_every_pin() -> None:
    key = plugin_key(JSONL)
    assert re.fullmatch(r"target-jsonl-0\.1\.4-[0-9a-f]{8}", key), key
    assert plugin_key(TargetDef(package="target-jsonl", version="0.1.4", executable="other")) == key
    with_extras = plugin_key(JSONL.model_copy(update={"extra_requirements": ["six==1.17.0", "pytz==2024.1"]}))
    reordered = plugin_key(JSONL.model_copy(update={"extra_requirements": ["pytz==2024.1", "six==1.17.0"]}))
    assert with_extras == reordered
    variants = {
        key,
        with_extras,
        plugin_key(JSONL.model_copy(update={"version": "0.1.5"})),
        plugin_key(JSONL.model_copy(update={"extra_requirements": ["six==1.16.0", "pytz==2024.1"]})),
        plugin_key(JSONL.model_copy(update={"pip": "pip<24.1"})),
        plugin_key(JSONL.model_copy(update={"extra_requirements": ["pip<24.1"]})),
        plugin_key(JSONL.model_copy(update={"collections_aliases": True})),
        plugin_key(JSONL.model_copy(update={"entry_point": "target_jsonl:main"})),
        plugin_key(JSONL.model_copy(update={"build_constraints": ["setuptools<58"]})),
    }
    assert len(variants) == 9


def test_pip_environment_passes_pip_settings_and_nothing_secret() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/ops",
        "LANG": "C.UTF-8",
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
        "PIP_CONFIG_FILE": "/etc/ops/pip.conf",
        "LOCKSTITCH_ENCRYPTION_KEYS": "k1:c2VjcmV0",
        "LOCKSTITCH_DATABASE_URL": "postgresql://u:p@db/lockstitch",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
        "PYTHONPATH": "/somewhere/else",
        "VIRTUAL_ENV": "/work/main/.venv",
    }
    assert pip_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/ops",
        "LANG": "C.UTF-8",
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
        "PIP_CONFIG_FILE": "/etc/ops/pip.conf",
    }


# --- installing ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_installed_plugin_runs_and_a_second_ensure_does_nothing(cached: Plugins) -> None:
    executable = await cached.ensure(JSONL)
    assert executable == cached.root / plugin_key(JSONL) / "bin" / "target-jsonl"
    assert cached.is_installed(JSONL)
    _runs(executable)
    marker = json.loads((cached.path(JSONL) / MARKER).read_text())
    assert marker["requirements"] == ["target-jsonl==0.1.4"]
    assert plugin_key(JSONL) in [p.key for p in cached.installed()]

    lines: list[str] = []
    started = time.monotonic()
    assert await cached.ensure(JSONL, lines.append) == executable
    assert time.monotonic() - started < 0.5
    assert lines == []


@pytest.mark.slow
async def test_concurrent_ensures_in_one_process_install_once(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    other = Plugins(tmp_path)  # another instance on the same root: only the file lock is shared
    logs: list[list[str]] = [[], [], []]
    paths = await asyncio.gather(
        plugins.ensure(JSONL, logs[0].append),
        plugins.ensure(JSONL, logs[1].append),
        other.ensure(JSONL, logs[2].append),
    )
    assert len(set(paths)) == 1
    assert [_pip_ran(log) for log in logs].count(1) == 1, logs
    assert sum(_pip_ran(log) for log in logs) == 1
    assert sum(log.count("installing target-jsonl 0.1.4 ...") for log in logs) == 1
    # The other two were told why nothing happened for a while (the worker shows it in check logs).
    waited = ["waiting for another install of target-jsonl 0.1.4 ..." in log for log in logs]
    assert sorted(waited) == [False, True, True], logs
    _runs(paths[0])
    assert _leftovers(tmp_path) == [plugin_key(JSONL)]


ENSURE_SCRIPT = """
import asyncio, sys
from pathlib import Path
from lockstitch.catalog.models import TargetDef
from lockstitch.runner.plugins import Plugins

defn = TargetDef(package="target-jsonl", version="0.1.4", executable="target-jsonl")
path = asyncio.run(Plugins(Path(sys.argv[1])).ensure(defn, lambda line: print(line, flush=True)))
print("READY", path)
"""


@pytest.mark.slow
def test_two_processes_install_once(tmp_path: Path) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", ENSURE_SCRIPT, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0].splitlines() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    ready = {line for out in outputs for line in out if line.startswith("READY ")}
    assert ready == {f"READY {tmp_path / plugin_key(JSONL) / 'bin' / 'target-jsonl'}"}
    assert sorted(_pip_ran(out) for out in outputs) == [0, 1], outputs
    # They did overlap: the one that did not install waited for the other.
    waited = [any(line.startswith("waiting for another install") for line in out) for out in outputs]
    assert sorted(waited) == [False, True], outputs


@pytest.mark.slow
async def test_unknown_package_fails_clearly_and_leaves_no_venv(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    lines: list[str] = []
    with pytest.raises(PluginInstallError) as failure:
        await plugins.ensure(MISSING, lines.append)
    message = failure.value.message
    assert "tap-lockstitch-does-not-exist==0.0.1" in message
    assert "No matching distribution found for tap-lockstitch-does-not-exist==0.0.1" in message
    assert "\n" not in message
    assert len(message) < 1000
    assert any("No matching distribution" in line for line in lines)  # streamed as it happened
    assert not plugins.path(MISSING).exists()
    assert not plugins.is_installed(MISSING)
    assert plugins.installed() == []
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
async def test_missing_executable_is_a_failure_and_the_venv_goes(tmp_path: Path) -> None:
    wrong = JSONL.model_copy(update={"executable": "target-jsonl-nope"})
    plugins = Plugins(tmp_path)
    with pytest.raises(PluginInstallError, match="no executable 'target-jsonl-nope'"):
        await plugins.ensure(wrong)
    assert _leftovers(tmp_path) == []


async def test_timeout_is_a_failure_and_the_venv_goes(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(PluginInstallError, match=r"installing target-jsonl==0\.1\.4 timed out after 0\.5 s"):
        await plugins.ensure(JSONL)
    assert time.monotonic() - started < 10  # the venv/pip process group was killed, not waited for
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
async def test_pip_settings_from_the_environment_reach_pip(tmp_path: Path) -> None:
    # PIP_NO_INDEX is an ordinary pip setting: if it reaches pip, nothing can be found.
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "PIP_NO_INDEX": "1"}
    plugins = Plugins(tmp_path, environ=environ)
    with pytest.raises(PluginInstallError, match=r"No matching distribution found for target-jsonl==0\.1\.4"):
        await plugins.ensure(JSONL)
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
async def test_half_made_venv_is_reinstalled(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    # What a crash mid-install leaves: a venv directory, even the executable, but no marker.
    half = plugins.path(JSONL)
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "target-jsonl").write_text("#!/bin/sh\nexit 3\n")
    (half / "bin" / "target-jsonl").chmod(0o755)
    (half / "debris").write_text("left by a crash")
    assert not plugins.is_installed(JSONL)

    lines: list[str] = []
    executable = await plugins.ensure(JSONL, lines.append)
    assert _pip_ran(lines) == 1
    assert not (half / "debris").exists()
    assert plugins.is_installed(JSONL)
    _runs(executable)


# --- the command line ------------------------------------------------------------------------

JSONL_DESTINATION = """
type: lockstitch.test-jsonl
details:
  protocol: lockstitch.test-jsonl
steps:
- type: form
  properties:
  - name: destination_path
    is_required: true
    is_credential: false
    system_provided: false
    property_type: user_provided
    json_schema: {type: string}
- type: fully_configured
target:
  package: %(package)s
  version: %(version)s
  executable: %(executable)s
"""


def _cli_env(tmp_path: Path, *targets: TargetDef | TapDef) -> dict[str, str]:
    """A home of its own, and an operator directory adding one destination type per target."""
    destinations = tmp_path / "types" / "destinations"
    destinations.mkdir(parents=True)
    for index, defn in enumerate(targets):
        text = JSONL_DESTINATION % defn.model_dump()
        text = text.replace("lockstitch.test-jsonl", f"lockstitch.test-{index}")
        (destinations / f"test-{index}.yaml").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env.update(
        {
            "LOCKSTITCH_ENV": "development",
            "LOCKSTITCH_HOME": str(tmp_path / "home"),
            "LOCKSTITCH_SOURCE_TYPE_DIRS": str(tmp_path / "types"),
        }
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOCKSTITCH, "plugins", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _listing(env: dict[str, str]) -> dict[str, dict[str, object]]:
    result = _cli(env, "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["package"]: row for row in json.loads(result.stdout)}


@pytest.mark.slow
def test_cli_lists_and_installs_by_type_name(tmp_path: Path) -> None:
    env = _cli_env(tmp_path, JSONL)
    before = _listing(env)
    # Every PostgreSQL variant runs on the one pinned tap: one venv, all of them listed.
    postgres_types = before["meltanolabs-tap-postgres"]["types"]
    assert {"platform.hp-postgres", "platform.heroku_pg", "platform.hp-cloudsql-pg"} <= set(postgres_types)
    assert postgres_types == sorted(postgres_types)
    assert before["meltanolabs-tap-postgres"]["version"] == "0.10.0"
    assert "lockstitch.test-0" in before["target-jsonl"]["types"]  # packaged types may use it too
    assert not any(row["installed"] for row in before.values())
    assert before["target-jsonl"]["path"] == str(tmp_path / "home" / "plugins" / plugin_key(JSONL))

    installed = _cli(env, "install", "lockstitch.test-0")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert re.search(r"target-jsonl\s+.\s+0\.1\.4\s+.\s+installed\s", installed.stdout), installed.stdout

    after = _listing(env)
    assert after["target-jsonl"]["installed"] is True
    assert [name for name, row in after.items() if row["installed"]] == ["target-jsonl"]
    _runs(Path(str(after["target-jsonl"]["path"])) / "bin" / "target-jsonl")

    again = _cli(env, "install", "target-jsonl")  # by executable name this time
    assert again.returncode == 0
    assert "already installed" in again.stdout


@pytest.mark.slow
def test_cli_refuses_unknown_names(tmp_path: Path) -> None:
    env = _cli_env(tmp_path, JSONL)
    unknown = _cli(env, "install", "target-jsonl", "tap-lockstitch-nope")
    assert unknown.returncode == 2
    assert "no plugin named tap-lockstitch-nope" in unknown.stderr
    assert "target-jsonl" in unknown.stderr  # it says what the catalogue has
    nothing = _cli(env, "install")
    assert nothing.returncode == 2
    assert "--all" in nothing.stderr
    assert not (tmp_path / "home" / "plugins").exists()  # refused before touching anything


@pytest.mark.slow
def test_cli_install_failure_exits_1_with_pips_reason(tmp_path: Path) -> None:
    env = _cli_env(tmp_path, MISSING)
    result = _cli(env, "install", "tap-lockstitch-does-not-exist")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout
    assert "No matching distribution found for tap-lockstitch-does-not-exist==0.0.1" in result.stdout
    listing = _listing(env)
    assert listing["tap-lockstitch-does-not-exist"]["installed"] is False
    assert not Path(str(listing["tap-lockstitch-does-not-exist"]["path"])).exists()
