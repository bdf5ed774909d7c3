"""Confinement of partner-supplied paths: the one rule for local files and local destinations.

A partner names paths on the server's disk (a ``lockstitch.local-files`` glob, a DuckDB file, a
JSON Lines folder). Each account has its own root; a path is accepted only if it stays inside it
once resolved: ``..`` collapsed, symbolic links followed, and for a glob every file it matches
now resolved too, since the plugin follows links when it reads. The server's own files
(database, keys, plugins, workspaces) are never acceptable, even inside a root.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

GLOB_CHARS = frozenset("*?[")


class PathRefusedError(ValueError):
    """A path outside its root, or one of the server's own (the message names no location)."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _check(resolved: Path, root: Path, forbidden: Iterable[Path], *, allow_root: bool) -> Path:
    if not _inside(resolved, root) or (resolved == root and not allow_root):
        raise PathRefusedError("leaves its root")
    for own in forbidden:
        if _inside(resolved, own) or _inside(own, resolved):
            raise PathRefusedError("is one of the server's own files")
    return resolved


def confine(root: Path, value: str, forbidden: Iterable[Path] = (), *, allow_root: bool = False) -> Path:
    """``value`` (relative to ``root``, or absolute inside it) resolved; ``PathRefusedError`` if not."""
    if not value or "\x00" in value:
        raise PathRefusedError("is empty")
    real_root = root.resolve()
    try:
        resolved = (real_root / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a name the OS refuses
        raise PathRefusedError("cannot be resolved") from None
    return _check(resolved, real_root, list(forbidden), allow_root=allow_root)


def confine_glob(root: Path, pattern: str, forbidden: Iterable[Path] = ()) -> Path:
    """A glob for a plugin to expand: its fixed part must stay inside ``root``, and so must every
    file it matches right now (links resolved). Returns the absolute pattern under the root."""
    if not pattern or "\x00" in pattern:
        raise PathRefusedError("is empty")
    own = list(forbidden)
    real_root = root.resolve()
    parts = Path(pattern).parts
    fixed = Path(*[p for p in parts if not GLOB_CHARS & set(p)]) if parts else Path()
    if ".." in parts:
        raise PathRefusedError("leaves its root")
    confine(real_root, str(fixed) if str(fixed) not in ("", ".") else ".", own, allow_root=True)
    absolute = pattern if os.path.isabs(pattern) else str(real_root / pattern)
    if not GLOB_CHARS & set(pattern):
        return confine(real_root, absolute, own)
    for match in glob.iglob(absolute, recursive=True, include_hidden=True):
        try:
            _check(Path(match).resolve(), real_root, own, allow_root=False)
        except (OSError, RuntimeError):
            raise PathRefusedError("cannot be resolved") from None
    return Path(absolute)
