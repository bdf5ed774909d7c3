"""A private scratch directory per job: config files with secrets live here and nowhere else.

The directory is mode 0700 and every file 0600; it is removed when the job ends, whatever
happened, so credentials never outlive the run on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
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
    path = Path(tempfile.mkdtemp(prefix=f"lockstitch-{prefix}", dir=parent))  # mkdtemp makes it 0700
    try:
        yield Workspace(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
