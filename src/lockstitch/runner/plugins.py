"""Singer plugins, each installed from PyPI into its own virtualenv under the plugins directory.

    ensure(defn) --installed?--> <root>/<key>/bin/<executable>
        |  no
        v
    asyncio lock per key -> flock <root>/<key>.lock (other processes) -> installed now? -> done
        |  no
        v
    remove any half-made <root>/<key>/ -> python -m venv -> [pip install <defn.pip>]
        -> pip install <package>==<version> <extra_requirements> -> [collections aliases hook]
    -> [entry-point script] -> executable there?
        -> write <root>/<key>/.installed (last, atomically: only a finished venv has one)

The key names the package, the version and a hash of every requirement, so a changed pin gets a
new directory instead of reusing a stale one. pip runs with a minimal environment (no
``LOCKSTITCH_*`` values, no keys) and its output goes line by line to the caller's ``log``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockstitch.catalog.models import PluginDef
from lockstitch.runner import venv_hooks

if TYPE_CHECKING:
    from lockstitch.config import Settings

Log = Callable[[str], None]
MARKER = ".installed"
DEFAULT_TIMEOUT_SECONDS = 900.0
# How often a waiter retries the inter-process lock; polling keeps the wait cancellable.
LOCK_POLL_SECONDS = 0.1
# Variables pip may need (locale, home for its cache and config, CA bundles, proxies) and every
# PIP_* setting; anything else (LOCKSTITCH_*, cloud credentials...) stays out of the venv.
_PASSED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)
_PIP_FLAGS = ("--disable-pip-version-check", "--no-input", "--progress-bar", "off")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]")
_ERROR_TAIL = 3
_PLAIN_TAIL = 5
_MAX_MESSAGE = 800


class PluginInstallError(Exception):
    """A plugin could not be installed; the message names it and quotes pip's last words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InstalledPlugin:
    """What a finished venv's marker says about it."""

    key: str
    path: Path
    package: str
    version: str
    executable: str
    requirements: list[str]
    installed_at: str
    seconds: float


def requirements(defn: PluginDef) -> list[str]:
    """What goes into the venv, in install order: pip's own pin first, then the plugin and its extras."""
    first = [defn.pip] if defn.pip else []
    return [*first, f"{defn.package}=={defn.version}", *defn.extra_requirements]


def plugin_key(defn: PluginDef) -> str:
    """``<package>-<version>-<8 hex>``: the hash covers every requirement, so any changed pin
    (an extra, the pip pin) gets a fresh venv."""
    entries = [f"{defn.package}=={defn.version}", *defn.extra_requirements]
    if defn.pip:
        # Tagged: "pip<24.1" installed first is not the same venv as "pip<24.1" as an extra.
        entries.append(f"pip-first:{defn.pip}")
    if defn.ignore_requires_python:
        entries.append("pip-flag:--ignore-requires-python")
    if defn.collections_aliases:
        entries.append("hook:collections-aliases")
    if defn.entry_point:
        entries.append(f"entry-point:{defn.entry_point}")
    entries += [f"build-constraint:{c}" for c in defn.build_constraints]
    digest = hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:8]
    return f"{_UNSAFE_NAME.sub('_', defn.package)}-{_UNSAFE_NAME.sub('_', defn.version)}-{digest}"


def pip_environment(environ: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k in _PASSED_ENV or k.startswith("PIP_")}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    return env


class Plugins:
    """The plugins directory: where each plugin's venv is, whether it is ready, installing it."""

    def __init__(
        self,
        root: Path,
        python: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.python = python or sys.executable
        self.timeout = timeout
        # Passed through to pip, not configuration: pip's own settings (PIP_INDEX_URL...) and
        # proxies must reach it, so the process environment is where they come from.
        self._environ = environ
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Plugins:
        runner = settings.runner
        return cls(settings.plugins_dir, runner.python, timeout=runner.plugin_install_timeout_seconds)

    def path(self, defn: PluginDef) -> Path:
        return self.root / plugin_key(defn)

    def executable(self, defn: PluginDef) -> Path:
        return self.path(defn) / "bin" / defn.executable

    def is_installed(self, defn: PluginDef) -> bool:
        """Only a venv whose install finished (marker written last) and whose executable is there."""
        return (self.path(defn) / MARKER).is_file() and self.executable(defn).is_file()

    def installed(self) -> list[InstalledPlugin]:
        """Every finished venv under the root (catalogued or not), by key."""
        if not self.root.is_dir():
            return []
        found = []
        for marker in sorted(self.root.glob(f"*/{MARKER}")):
            plugin = _read_marker(marker)
            if plugin is not None:
                found.append(plugin)
        return found

    async def ensure(self, defn: PluginDef, log: Log | None = None) -> Path:
        """The plugin's executable, installing the plugin first when it is not installed."""
        if not self.is_installed(defn):
            await self.install(defn, log)
        return self.executable(defn)

    async def install(self, defn: PluginDef, log: Log | None = None, *, force: bool = False) -> None:
        """Install (or with ``force`` reinstall) once, however many tasks and processes ask at once."""
        emit = log or _ignore
        key = plugin_key(defn)
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock.locked():
            emit(f"waiting for another install of {defn.package} {defn.version} ...")
        async with lock, self._file_lock(defn, emit):
            # Whoever held the locks before us may have installed it meanwhile.
            if force or not self.is_installed(defn):
                await self._install(defn, emit)

    @contextlib.asynccontextmanager
    async def _file_lock(self, defn: PluginDef, log: Log) -> AsyncIterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / f"{plugin_key(defn)}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # A waiting installer outlives the holder's own time limit only by a margin.
            deadline = time.monotonic() + self.timeout + 60
            told = False
            while not _try_flock(fd):
                if not told:
                    log(f"waiting for another install of {defn.package} {defn.version} ...")
                    told = True
                if time.monotonic() > deadline:
                    raise PluginInstallError(
                        f"timed out waiting for another install of {defn.package}=={defn.version}"
                    )
                await asyncio.sleep(LOCK_POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # releases the lock

    async def _install(self, defn: PluginDef, log: Log) -> None:
        venv = self.path(defn)
        started = time.monotonic()
        log(f"installing {defn.package} {defn.version} ...")
        await _remove(venv)  # a half-made (or forced) venv: start clean
        try:
            await asyncio.wait_for(self._build(defn, venv, log), timeout=self.timeout)
        except TimeoutError:
            await _remove(venv)
            raise PluginInstallError(
                f"installing {defn.package}=={defn.version} timed out after {self.timeout:g} s"
            ) from None
        except BaseException:  # failures, and cancellation: never leave a half-made venv behind
            await _remove(venv)
            raise
        seconds = time.monotonic() - started
        _write_marker(venv, defn, self.python, seconds)
        log(f"installed {defn.package} {defn.version} in {seconds:.1f} s")

    async def _build(self, defn: PluginDef, venv: Path, log: Log) -> None:
        what = f"{defn.package}=={defn.version}"
        await self._run([self.python, "-m", "venv", str(venv)], f"creating a virtualenv for {what}", log)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", *_PIP_FLAGS]
        if defn.pip:
            await self._run([*pip, defn.pip], f"installing {defn.pip} for {what}", log)
        flags = ["--ignore-requires-python"] if defn.ignore_requires_python else []
        extra_env = {}
        if defn.build_constraints:
            constraints = venv / "lockstitch-build-constraints.txt"
            constraints.write_text("".join(f"{c}\n" for c in defn.build_constraints), encoding="utf-8")
            extra_env["PIP_CONSTRAINT"] = str(constraints)
        await self._run([*pip, *flags, what, *defn.extra_requirements], f"installing {what}", log, extra_env)
        if defn.collections_aliases and not venv_hooks.write_collections_aliases(venv):
            raise PluginInstallError(f"{what}: no single site-packages in {venv} for the collections aliases")
        if defn.entry_point and not self.executable(defn).exists():
            venv_hooks.write_entry_point(venv, defn.executable, defn.entry_point)
        if not self.executable(defn).is_file():
            raise PluginInstallError(
                f"{what} installed but has no executable {defn.executable!r} in {venv / 'bin'}"
            )

    async def _run(
        self, argv: Sequence[str], doing: str, log: Log, extra_env: Mapping[str, str] | None = None
    ) -> None:
        env = pip_environment(os.environ if self._environ is None else self._environ)
        for name, value in (extra_env or {}).items():
            # An operator's own constraints (PIP_CONSTRAINT takes several files) still apply.
            env[name] = f"{env[name]} {value}" if env.get(name) else value
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a time limit kills pip's build subprocesses too
                limit=1 << 20,  # pip can print long lines (dependency conflicts)
            )
        except OSError as exc:
            raise PluginInstallError(f"{doing} failed: cannot run {argv[0]}: {exc.strerror}") from None
        try:
            tail = await _stream(process, log)
            code = await process.wait()
        except BaseException:
            _kill_group(process)
            await process.wait()
            raise
        if code != 0:
            raise PluginInstallError(f"{doing} failed (exit {code}): {_summary(tail)}")


def _ignore(_line: str) -> None:
    return None


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


async def _stream(process: asyncio.subprocess.Process, log: Log) -> list[str]:
    """Hand each non-blank output line to ``log``; keep the last ones for an error message."""
    assert process.stdout is not None
    tail: collections.deque[str] = collections.deque(maxlen=40)
    async for raw in process.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        if line.strip():
            tail.append(line)
            log(line)
    return list(tail)


def _summary(lines: list[str]) -> str:
    """pip's ERROR lines when it printed any (they say what failed), else its last lines."""
    meaningful = [
        line.strip()
        for line in lines
        if not line.lstrip().startswith("[notice]") and "You are using pip version" not in line
    ]
    errors = [line for line in meaningful if line.startswith(("ERROR:", "Error:", "error:"))]
    chosen = errors[-_ERROR_TAIL:] if errors else meaningful[-_PLAIN_TAIL:]
    text = " | ".join(chosen) or "no output"
    return text if len(text) <= _MAX_MESSAGE else "..." + text[-_MAX_MESSAGE:]


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _remove(venv: Path) -> None:
    await asyncio.to_thread(_remove_now, venv)  # a venv holds thousands of files


def _remove_now(venv: Path) -> None:
    # The marker goes first: a reader must never see a marker over a venv being deleted.
    (venv / MARKER).unlink(missing_ok=True)
    shutil.rmtree(venv, ignore_errors=True)


def _write_marker(venv: Path, defn: PluginDef, python: str, seconds: float) -> None:
    content = {
        "package": defn.package,
        "version": defn.version,
        "executable": defn.executable,
        "requirements": requirements(defn),
        "python": python,
        "installed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(seconds, 1),
    }
    partial = venv / f"{MARKER}.partial"
    partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    partial.replace(venv / MARKER)  # atomic: the marker is whole or absent


def _read_marker(marker: Path) -> InstalledPlugin | None:
    try:
        data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        return InstalledPlugin(
            key=marker.parent.name,
            path=marker.parent,
            package=str(data["package"]),
            version=str(data["version"]),
            executable=str(data["executable"]),
            requirements=[str(r) for r in data["requirements"]],
            installed_at=str(data["installed_at"]),
            seconds=float(data["seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable marker: not a finished install this code knows
