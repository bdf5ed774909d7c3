"""A private scratch directory per job: config files with secrets live here and nowhere else.

The directory is mode 0700 and every file 0600; it is removed when the job ends, whatever
happened. A worker killed outright (SIGKILL, power loss) cannot clean up, so its directory names
carry its pid and the next worker sweeps away those of processes that no longer exist: config
files with credentials never outlive their run by more than a worker restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Workspace:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write_json(self, name: str, data: Any) -> Path:
        path = self.path / name
        # O_EXCL + 0600 from the first byte: no moment where another user could read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        return path

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def read_back(self, name: str, max_bytes: int) -> Any:
        """A JSON file a plugin may have rewritten, read defensively: a regular file only (no
        link, no FIFO that would block), at most ``max_bytes``. Raises ``OSError`` or
        ``ValueError`` (too big, not JSON) for the caller to log."""
        fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"larger than {max_bytes} bytes")
        return json.loads(data)

    def file(self, name: str) -> Path:
        """A path for a file a process will write (created 0600 now)."""
        path = self.path / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return path


@contextlib.contextmanager
def workspace(parent: Path | None = None, prefix: str = "job-") -> Iterator[Workspace]:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    # mkdtemp makes it 0700; the pid lets sweep_orphans() tell a dead worker's leftovers.
    path = Path(tempfile.mkdtemp(prefix=f"lockstitch-{prefix}{os.getpid()}-", dir=parent))
    try:
        yield Workspace(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


_OWNED = re.compile(r"^lockstitch-[a-z]+-(\d+)-")


def sweep_orphans(parent: Path) -> int:
    """Remove the workspaces of processes that are gone; returns how many."""
    if not parent.is_dir():
        return 0
    removed = 0
    for entry in parent.iterdir():
        match = _OWNED.match(entry.name)
        if match is None or not entry.is_dir() or _alive(int(match.group(1))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge
        return True
    return True
