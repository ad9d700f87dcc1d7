"""A consumer slower than the network gets the newest state, not a backlog — over real sockets.

Border: only the coalescing of snapshots for a slow consumer (which needs real sockets and real
time); everything else a stream yields is in ``test_client_streaming.py``.
"""

from __future__ import annotations

import time

import anyio
import pytest
from shared_support import UserWithBio as User

import streamstruct
from streamstruct.testing import Reply, Simulator, serve

MESSAGES = [{"role": "user", "content": "A long bio, please."}]
LONG = {"name": "Alice", "age": 28, "bio": "word " * 300}


async def _snapshots(consumer_delay: float) -> tuple[list[object], float]:
    # One delta per millisecond: about 1,500 characters in 4-character deltas, ~0.4 s of stream.
    simulator = Simulator(responses=Reply(LONG, delay=0.001))
    async with (
        serve(simulator) as url,
        streamstruct.AsyncClient(base_url=url, api_key="sk-test") as client,
    ):
        started = time.monotonic()
        seen: list[object] = []
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        async for partial in stream:
            seen.append(partial)
            if consumer_delay:
                await anyio.sleep(consumer_delay)
        assert await stream.get_final() == User(**LONG)
        return seen, time.monotonic() - started


@pytest.mark.anyio
async def test_a_slow_consumer_gets_the_newest_state() -> None:
    seen, elapsed = await _snapshots(consumer_delay=0.1)
    # Without coalescing it would see ~380 snapshots and take ~38 s; it catches up instead.
    assert len(seen) < 40
    assert elapsed < 10
    assert seen[-1].model_dump() == LONG  # type: ignore[attr-defined]
    bios = [partial.bio or "" for partial in seen]  # type: ignore[attr-defined]
    assert bios == sorted(bios, key=len)  # never an older state after a newer one


@pytest.mark.anyio
async def test_a_fast_consumer_sees_every_step() -> None:
    seen, _ = await _snapshots(consumer_delay=0.0)
    assert len(seen) > 100
