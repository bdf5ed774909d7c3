"""The parsed catalogue files, kept between starts: start-up reads one JSON file instead of
parsing ~200 YAML files.

The cache is a map of path -> the file's parsed content, valid for exactly the set of files it was
made from: its name carries a digest of every path with its size and modification time (and the
loader's version), so a changed, added or removed file means a new cache, never a stale answer.
Whatever goes wrong with the cache (unreadable, unwritable, corrupt) falls back to parsing: the
cache can make start-up faster, never different. Validation is not cached: every start still
builds and checks each type from the parsed content.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

# Bump when what a file parses to changes (a new YAML loader, new tags...).
_FORMAT = "1"
_KEEP = 3  # older caches of other file sets (another checkout, an operator directory) kept


def digest(paths: Sequence[Path]) -> str:
    """Names the exact file set: every path with its size and modification time."""
    entries = [_FORMAT]
    for path in paths:
        stat = path.stat()
        entries.append(f"{path}\x00{stat.st_size}\x00{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:20]


def parsed(paths: Sequence[Path], cache_dir: Path | None, parse: Callable[[Path], Any]) -> dict[Path, Any]:
    """Each path's parsed content: from the cache when it matches the files, else parsed (and
    the cache written for the next start)."""
    if cache_dir is None:
        return {path: parse(path) for path in paths}
    try:
        name = f"catalog-{digest(paths)}.json"
    except OSError:
        return {path: parse(path) for path in paths}
    cache = cache_dir / name
    with contextlib.suppress(OSError, orjson.JSONDecodeError, KeyError, TypeError):
        stored = orjson.loads(cache.read_bytes())
        return {path: stored[str(path)] for path in paths}
    found = {path: parse(path) for path in paths}
    with contextlib.suppress(OSError, TypeError):
        _write(cache, {str(path): content for path, content in found.items()})
    return found


def _write(cache: Path, content: dict[str, Any]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".catalog-", dir=cache.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(content))
        os.replace(temporary, cache)  # atomic: a reader sees a whole cache or none
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    olds = sorted(cache.parent.glob("catalog-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in olds[_KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
