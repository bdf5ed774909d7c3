"""A worker process for the concurrency test: fires N concurrent refresh triggers at each of the
given credentials (``python -m tests.oauth.trigger_refreshes IDS_FILE N``), with the settings
from LOCKSTITCH_CONFIG, and prints the outcomes as JSON."""

from __future__ import annotations

import asyncio
import collections
import json
import sys
from pathlib import Path

from lockstitch.config import load_settings
from lockstitch.context import build_context
from lockstitch.oauth.lifecycle import TokenEngine


async def main(ids: list[int], triggers: int) -> dict[str, int]:
    ctx = build_context(load_settings())
    engine = TokenEngine(ctx, ctx.process_id)
    outcomes = await asyncio.gather(*(engine.refresh_if_due(i) for i in ids for _ in range(triggers)))
    await ctx.close()
    return dict(collections.Counter(outcomes))


if __name__ == "__main__":
    ids = [int(line) for line in Path(sys.argv[1]).read_text().split()]
    print(json.dumps(asyncio.run(main(ids, int(sys.argv[2])))))
