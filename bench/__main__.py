"""``python -m bench`` (what ``make bench`` runs): every benchmark in bench/, one after another.

python -m bench                      # all benchmarks, default settings
python -m bench api --postgres       # one benchmark, with its own options (see --help)
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import api, refresh, replication, startup

# name -> main(argv) returning an exit code; each prints its figures and writes its JSON.
BENCHMARKS: dict[str, Callable[[list[str]], int]] = {
    "api": api.main,
    "refresh": refresh.main,
    "replication": replication.main,
    "startup": startup.main,
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print(f"benchmarks: {', '.join(BENCHMARKS)}")
        return 0
    if argv and argv[0] in BENCHMARKS:
        return BENCHMARKS[argv[0]](argv[1:])
    if argv:
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = [name for name, run in BENCHMARKS.items() if run([]) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
