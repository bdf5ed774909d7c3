"""Start-up: ``lockstitch serve`` to the first ``/healthz`` 200 on a fresh SQLite home.

    python -m bench startup [--runs 5]

Each run gets a new LOCKSTITCH_HOME (a fresh database to migrate, as a first start has). Prints
each start, the median, and the share of it the catalogue costs (``load_catalog`` timed in this
process, the same files): a ratio, so a busy machine does not change what it says.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.server import Server
from lockstitch.catalog.loader import load_catalog
from lockstitch.kit.crypto import generate_key


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env.update(
        {
            "LOCKSTITCH_HOME": str(home),
            "LOCKSTITCH_ENV": "test",
            "LOCKSTITCH_ENCRYPTION_KEYS": generate_key("bench"),
        }
    )
    return env


def start_once(home: Path) -> float:
    started = time.monotonic()
    # The worker too (no --no-worker): what `lockstitch serve` runs by default.
    with Server(_env(home), home / "server.log", worker=True):
        return time.monotonic() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(".lockstitch-bench/startup.json"))
    args = parser.parse_args(argv)
    seconds = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="lockstitch-startup-") as home:
            seconds.append(start_once(Path(home)))
        print(f"start {run + 1}: {seconds[-1]:.2f} s")
    loads = []
    for _ in range(3):
        began = time.monotonic()
        catalog = load_catalog()
        loads.append(time.monotonic() - began)
    median = statistics.median(seconds)
    share = statistics.median(loads) / median
    types = len(catalog.source_types()) + len(catalog.destination_types())
    print(f"median start-up {median:.2f} s over {args.runs} starts; {types} types in the catalogue")
    print(f"loading the catalogue is {share:.0%} of it")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"starts": seconds, "median": median, "catalog_share": share, "types": types})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
