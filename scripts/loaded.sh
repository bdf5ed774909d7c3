#!/usr/bin/env bash
# Run a command with the machine loaded: two CPU-burning processes beside it, stopped when it
# ends. `make test-loaded` is `scripts/loaded.sh make test`; the exit status is the command's.
#   scripts/loaded.sh .venv/bin/pytest tests/oauth/test_crashes.py
set -uo pipefail
burners=()
for _ in 1 2; do
  ( while :; do :; done ) &
  burners+=($!)
done
trap 'kill "${burners[@]}" 2>/dev/null' EXIT
"$@"
