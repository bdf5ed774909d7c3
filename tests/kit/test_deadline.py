"""A deadline that counts only the time the process could wait (kit/deadline.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from lockstitch.kit.deadline import within


async def test_the_result_comes_back() -> None:
    async def answer() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    assert await within(answer(), 5) == "ok"


async def test_a_wait_that_never_ends_is_cut_off_and_cancelled() -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    with pytest.raises(TimeoutError):
        await within(forever(), 0.3)
    assert cancelled.is_set()


async def _answer_during_a_stall(wait: object) -> str:
    """An answer arrives while the process stands still (a blocking sleep longer than the
    deadline); what does the wait do when the process runs again?"""
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def request() -> str:
        return await answer

    async def stall() -> None:
        await asyncio.sleep(0.05)
        asyncio.get_running_loop().call_soon(answer.set_result, "the answer")
        time.sleep(0.5)  # noqa: ASYNC251 - the process stands still

    stalling = asyncio.create_task(stall())
    try:
        if wait == "within":
            return await within(request(), 0.2)
        async with asyncio.timeout(0.2):
            return await request()
    finally:
        await stalling


async def test_an_answer_that_arrived_during_a_stall_is_kept() -> None:
    assert await _answer_during_a_stall("within") == "the answer"


async def test_a_wall_clock_timeout_would_have_lost_it() -> None:
    """Why ``within`` exists: the ordinary timeout fires first and the answer is thrown away."""
    with pytest.raises(TimeoutError):
        await _answer_during_a_stall("asyncio.timeout")
