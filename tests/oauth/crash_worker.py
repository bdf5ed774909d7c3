"""A worker process for the crash test, started by multiprocessing's forkserver so that it begins
at once (the imports are done once, in the fork server). It runs the same loop as
``lockstitch worker`` with the given settings, until the failpoint kills it or it is told to stop.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any


def run(settings: dict[str, Any]) -> None:
    from lockstitch.config import Settings  # noqa: PLC0415 - preloaded by the fork server
    from lockstitch.context import build_context  # noqa: PLC0415
    from lockstitch.oauth.tasks import RefreshCredentials  # noqa: PLC0415
    from lockstitch.worker.loop import Worker  # noqa: PLC0415

    async def main() -> None:
        ctx = build_context(Settings(**settings))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            # The worker loop with the one job under test: the others only slow it down here.
            await Worker(ctx, jobs=[RefreshCredentials()]).run(stop)
        finally:
            await ctx.close()

    asyncio.run(main())
