"""Local destinations (``local.STORES``): the file's folder, or the folder, inside the account's
warehouse folder, can be created and written to."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.destinations import local
from lockstitch.destinations.probes.base import Outcome


async def probe_local(
    destination_type: DestinationType, properties: Mapping[str, Any], warehouse: local.Warehouse
) -> Outcome:
    store = local.store_of(destination_type)
    where = warehouse.location(destination_type, {k: str(v) for k, v in properties.items()})
    if store is None or where is None:
        return Outcome(False, f"property path {local.OUTSIDE_HOME}")
    folder = where.parent if store.kind == "file" else where
    shown = warehouse.shown(where)
    log = [f"checking that {shown} can be written"]
    try:
        await asyncio.to_thread(_try_write, folder, where if store.kind == "file" else None)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Outcome(False, f"cannot write to {shown}: {reason}", log)
    log.append(f"{warehouse.shown(folder)} is writable")
    return Outcome(True, None, log)


def _try_write(folder: Path, file: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if file is not None and file.exists() and not file.is_file():
        raise IsADirectoryError(21, "it exists and is not a file")
    if file is not None and file.exists() and not os.access(file, os.W_OK):
        raise PermissionError(13, "the file is not writable")
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".lockstitch-check-") as handle:
        handle.write(b"ok")
        handle.flush()
