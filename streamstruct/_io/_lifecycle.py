"""The event-loop plumbing of the stream objects: closing a response, and closing it later.

A stream holds a response (a pooled connection); these helpers make sure it is handed back
whatever ends the stream: :func:`close_response` closes it shielded from cancellation and runs
httpx's nested body iterators to their end (trio warns about half-run ones), and
:func:`loop_scheduler` lets a finaliser (``__del__``, which cannot ``await``) schedule that close
on the loop the stream ran on. Plain anyio/asyncio/trio code: nothing here knows streamstruct's
stream classes (see :mod:`._stream`).
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, final

import anyio
import httpx

from ._body import DecodedBody

__all__ = ["NO_DEADLINE", "NoDeadline", "close_response", "current_library", "loop_scheduler"]

# Reading on a closed response's body iterator until it fails (see _finish_raw): what it may still
# hand out was buffered before the close, so these bounds are never reached in practice.
_FINISH_RAW_STEPS = 1024
_FINISH_RAW_SECONDS = 1.0


@final
class NoDeadline:
    """What a stream's ``_deadline_scope`` gives without a deadline: no scope at all, nothing to cancel."""

    __slots__ = ()
    cancelled_caught = False

    def __enter__(self) -> NoDeadline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


NO_DEADLINE: Final = NoDeadline()
"""The scope a stream without a deadline enters around each network step: none."""

_background: set[Any] = set()  # tasks closing abandoned streams, kept alive until done


def current_library() -> str | None:
    """``"asyncio"`` or ``"trio"``: the event loop running this code, or None.

    Asked directly rather than through sniffio, which is not a dependency (anyio 4 dropped it).
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return "asyncio"
    trio = sys.modules.get("trio")  # only a program that imported trio can be running it
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None
        return "trio"
    return None


def loop_scheduler() -> Callable[[Callable[[], Awaitable[None]]], None] | None:
    """A way to run a coroutine function later on the current event loop, from any context."""
    library = current_library()
    if library == "trio":
        import trio

        token = trio.lowlevel.current_trio_token()

        def schedule_trio(func: Callable[[], Awaitable[None]]) -> None:
            def spawn() -> None:
                trio.lowlevel.spawn_system_task(func)

            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(spawn)

        return schedule_trio
    if library == "asyncio":
        import asyncio

        loop = asyncio.get_running_loop()

        def schedule_asyncio(func: Callable[[], Awaitable[None]]) -> None:
            def start() -> None:
                task: asyncio.Future[None] = asyncio.ensure_future(func(), loop=loop)
                _background.add(task)
                task.add_done_callback(_background.discard)

            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(start)

        return schedule_asyncio
    return None


async def close_response(raw: AsyncIterator[bytes] | None, response: httpx.Response | None) -> None:
    """Close a response and its body iterator, shielded from cancellation.

    Shielded: a cancelled consumer must still hand its connection back to the pool.
    """
    with anyio.CancelScope(shield=True):
        if response is not None and not response.is_closed:
            await response.aclose()
        if isinstance(raw, DecodedBody):
            raw = raw.raw  # the body as received, which the decoder reads
        if raw is not None:
            await _finish_raw(raw)


async def _finish_raw(raw: AsyncIterator[bytes]) -> None:
    """End the body iterator of a response that was just closed half-read.

    httpx's and httpcore's body iterators are async generators nested four deep, and closing the
    outermost (``aclose()``) leaves the inner ones suspended, to be finalised whenever they are
    collected - which trio reports as a ``ResourceWarning`` for each. The response is already
    closed (and its connection with it), so reading on makes every layer fail and so finish:
    what the reads may still return is at most what was buffered, bounded in steps and time.
    """
    if inspect.isasyncgen(raw):
        with anyio.move_on_after(_FINISH_RAW_SECONDS):
            try:
                for _ in range(_FINISH_RAW_STEPS):
                    await raw.__anext__()
            except Exception:  # whatever ends it: the response is closed
                return
    aclose = getattr(raw, "aclose", None)
    if aclose is not None:
        await aclose()
