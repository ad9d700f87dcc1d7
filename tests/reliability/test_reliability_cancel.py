"""Cancellation and early exit, over real sockets: the server must see the client leave, at once.

The server (``raw_server``) streams an answer that never ends and notes when it learns that the
client went away (the peer closed, or a write failed). Every way of leaving a stream early -
``break`` out of ``async for`` and ``for``, ``aclose()``/``close()``, cancelling the consuming task
(an anyio cancel scope, ``asyncio.Task.cancel``), ``move_on_after``, dropping the stream for the
garbage collector - must close the connection promptly (asserted server-side) and leave no
connection checked out of the pool. Then a thousand streams cancelled at random points must leak
no connection, file descriptor or task, and no memory past a small bound.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import pytest
from reliability_support import (
    KEY,
    MESSAGES,
    Leaks,
    ServerLog,
    checked_out,
    endless,
    raw_server,
)
from shared_support import User

import streamstruct

pytestmark = pytest.mark.anyio

PROMPTLY = 1.0  # seconds within which the server must learn that the client left


@asynccontextmanager
async def endless_stream() -> AsyncIterator[tuple[streamstruct.AsyncClient, ServerLog, Any]]:
    """A client, the server's log, and a fresh ``create_partial`` stream of a never-ending answer."""
    async with (
        raw_server(endless) as (url, log),
        streamstruct.AsyncClient(api_key=KEY, base_url=url, mode="json_schema") as client,
    ):
        streams = [
            client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES
            )
        ]
        # Handed over through a list the caller empties, so that this frame keeps no reference.
        yield client, log, streams


async def back_to_zero(client: streamstruct.AsyncClient) -> None:
    """The pool has no connection checked out (closing may have been scheduled: wait a little)."""
    with anyio.fail_after(PROMPTLY):
        while checked_out(client._http):  # noqa: ASYNC110 - polling httpcore's state
            await anyio.sleep(0.005)


async def left_promptly(log: ServerLog) -> None:
    await log.last.wait_gone(within=PROMPTLY)
    assert len(log.connections) == 1


async def test_break_out_of_async_for() -> None:
    leaks = Leaks.now()
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        seen = 0
        async for partial in stream:
            seen += 1
            if seen == 3:
                assert partial.name.startswith("lalala")
                break
        await left_promptly(log)
        await back_to_zero(client)
    await leaks.check()


async def test_aclose() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        iterator = stream.__aiter__()
        await iterator.__anext__()
        await stream.aclose()
        assert checked_out(client._http) == 0  # at once: aclose() waits for the close
        await left_promptly(log)
        with pytest.raises(streamstruct.StreamInterruptedError):
            await iterator.__anext__()


async def test_async_with_exit() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        async with stream:
            await stream.__aiter__().__anext__()
        assert checked_out(client._http) == 0
        await left_promptly(log)


async def test_cancelling_the_consuming_task_with_a_cancel_scope() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        got_one = anyio.Event()

        async def consume() -> None:
            async for _ in stream:
                got_one.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            await got_one.wait()
            tasks.cancel_scope.cancel()
        assert checked_out(client._http) == 0
        await left_promptly(log)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_task_cancel() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        got_one = asyncio.Event()

        async def consume() -> None:
            async for _ in stream:
                got_one.set()

        task = asyncio.ensure_future(consume())
        await got_one.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert checked_out(client._http) == 0
        await left_promptly(log)


async def test_move_on_after() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        # Expires a little after something came, not at a fixed time from now: on a busy
        # machine the server may not have answered by then.
        with anyio.move_on_after(10) as scope:
            async for partial in stream:
                if partial.name and scope.deadline - anyio.current_time() > 1:
                    scope.deadline = anyio.current_time() + 0.05
        assert scope.cancelled_caught
        assert checked_out(client._http) == 0
        await left_promptly(log)
        assert stream.partial.name.startswith("lalala")  # what came is still there


async def test_a_move_on_after_while_opening() -> None:
    async def never(writer: Any, headers: dict[str, str]) -> None:
        await anyio.sleep(10)  # no status line

    async with (
        raw_server(never) as (url, log),
        streamstruct.AsyncClient(api_key=KEY, base_url=url) as client,
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )

        async def expire_once_the_request_is_in(scope: anyio.CancelScope) -> None:
            # Not after a fixed 0.1 s: on a busy machine the server may not have accepted the
            # connection by then, and there would be nothing to see leave.
            while not (log.connections and log.last.requests):  # noqa: ASYNC110 - the server's log
                await anyio.sleep(0.005)
            scope.deadline = anyio.current_time()

        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(expire_once_the_request_is_in, scope)
                await stream
        assert scope.cancelled_caught
        assert checked_out(client._http) == 0
        await left_promptly(log)


async def test_an_abandoned_iteration_is_collected() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        iterator = stream.__aiter__()
        await iterator.__anext__()
        del iterator  # no aclose(), no async with: only the collector knows
        gc.collect()
        await left_promptly(log)
        await back_to_zero(client)


async def test_an_abandoned_stream_is_collected() -> None:
    async with endless_stream() as (client, log, streams):
        stream = streams.pop()
        await stream  # opened (the response began), never iterated
        assert checked_out(client._http) == 1
        del stream
        gc.collect()
        await left_promptly(log)
        await back_to_zero(client)


# -- the sync client -------------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("how", ["break", "close", "collected", "exception"])
async def test_sync_early_exits(how: str) -> None:
    async with raw_server(endless) as (url, log):

        def run() -> int:
            threads = Leaks.now().threads
            with streamstruct.Client(api_key=KEY, base_url=url, mode="json_schema") as client:
                stream = client.chat.completions.create_partial(
                    model="m", response_model=User, messages=MESSAGES
                )
                iterator = iter(stream)
                next(iterator)
                if how == "break":
                    for _ in iterator:
                        break
                    iterator.close()  # what a for loop's end does to a generator it owns
                elif how == "close":
                    stream.close()
                elif how == "collected":
                    del iterator, stream
                    gc.collect()
                else:
                    try:
                        for _ in iterator:
                            raise KeyError("the consumer failed")
                    except KeyError:
                        pass
                    del iterator
                deadline = time.monotonic() + PROMPTLY
                while checked_out(client._async._http) and time.monotonic() < deadline:
                    time.sleep(0.005)
                busy = checked_out(client._async._http)
            assert Leaks.now().threads <= threads
            return busy

        assert await anyio.to_thread.run_sync(run) == 0
        await left_promptly(log)


# -- a thousand streams cancelled at random points -------------------------------------------------


STREAMS = 500  # per backend: a thousand over asyncio and trio
BATCH = 25


async def test_streams_cancelled_at_random_points_leak_nothing() -> None:
    rng = random.Random(1000)
    async with raw_server(endless) as (url, log):
        client = streamstruct.AsyncClient(
            api_key=KEY, base_url=url, mode="json_schema", max_retries=0
        )
        async with client:

            async def one(index: int) -> None:
                stream = client.chat.completions.create_partial(
                    model="m", response_model=User, messages=MESSAGES
                )
                how = index % 4
                with anyio.move_on_after(rng.uniform(0.0, 0.05)):
                    if how == 0:  # cancelled wherever it is: connecting, opening, reading
                        async for _ in stream:
                            pass
                    elif how == 1:  # a break after a few snapshots
                        count = rng.randint(1, 4)
                        async for _ in stream:
                            count -= 1
                            if count == 0:
                                break
                    elif how == 2:  # aclose() at some point
                        async for _ in stream:
                            if rng.random() < 0.3:
                                await stream.aclose()
                                break
                    else:  # opened, then dropped
                        await stream

            async def batch(start: int) -> None:
                async with anyio.create_task_group() as tasks:
                    for index in range(start, start + BATCH):
                        tasks.start_soon(one, index)

            await batch(0)  # warm up: imports, the pool's first connections, caches
            gc.collect()
            await back_to_zero(client)
            leaks = Leaks.now()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for start in range(BATCH, STREAMS, BATCH):
                    await batch(start)
                gc.collect()
                await back_to_zero(client)
                await leaks.check(fd_slack=0)
                gc.collect()
                grown = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            assert grown < 2 * 1024 * 1024, f"memory grew by {grown} bytes"
        # Many were cancelled before they connected; every connection the server did accept saw
        # its client leave.
        assert len(log.connections) >= STREAMS // 10
        with anyio.fail_after(PROMPTLY):
            for connection in log.connections:
                await connection.gone.wait()
