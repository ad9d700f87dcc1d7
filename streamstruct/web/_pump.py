"""Pump: read an async iterator in a task of its own, so that its reader can stop waiting.

Why a task: a keep-alive comment must go out while the model is silent, that is while a network
read is pending. Cancelling that read would close the response (a stream closes its response on
any exception, cancellation included, so that nothing half-read is reused), so the read goes on
in another task, and the reader waits for what it hands over with a timeout, which only abandons
the wait. The task cannot belong to a task group: the reader is an async generator that yields
between reads, and no generator may yield inside a task group. So it is a task of the event loop
(asyncio) or a system task (trio), owned by the pump, which cancels it and waits for its end when
closed: the iterator's own cleanup (closing the response, shielded) runs before ``aclose`` returns.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from typing import Any, Final, final

import anyio

from .._io._lifecycle import current_library

__all__ = ["END", "Pump"]

END: Final[Any] = object()
"""What :meth:`Pump.next_batch` returns once the iterator is exhausted."""

# How many items may wait unread before the task stops reading: a slow reader slows the reading.
_MAX_WAITING: Final = 4096

_tasks: set[Any] = set()  # asyncio keeps only weak references to tasks: ours live until done


@final
class Pump:
    """Reads ``source`` in a task of its own from construction on (in an async context)."""

    __slots__ = ("_ended", "_error", "_finished", "_items", "_room", "_scope", "_source", "_wake")

    def __init__(self, source: AsyncIterator[Any]) -> None:
        self._source = source
        self._items: collections.deque[Any] = collections.deque()
        self._wake = anyio.Event()  # set when items wait or the source ended
        self._room = anyio.Event()  # set when the reader took what waited
        self._scope = anyio.CancelScope()
        self._finished = anyio.Event()
        self._ended = False
        self._error: Exception | None = None
        _spawn(self._run)

    async def _run(self) -> None:
        try:
            with self._scope:
                async for item in self._source:
                    self._items.append(item)
                    self._wake.set()
                    if len(self._items) >= _MAX_WAITING:
                        self._room = anyio.Event()
                        await self._room.wait()
        except Exception as error:  # handed to the reader, raised there
            self._error = error
        finally:
            await self._close_source()
            self._ended = True
            self._wake.set()
            self._finished.set()

    async def _close_source(self) -> None:
        """Close the iterator in the task that iterated it, even when stopped between two items
        (an ``async for`` left by an exception does not close it)."""
        aclose = getattr(self._source, "aclose", None)
        if aclose is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await aclose()
            except Exception as error:  # handed to the reader, as a read's error would be
                self._error = self._error or error

    async def next_batch(self, patience: float) -> list[Any] | None:
        """What waits (at least one item), ``None`` after ``patience`` seconds of nothing, or
        :data:`END`; the iterator's exception is raised here."""
        if not self._items and not self._ended:
            with anyio.move_on_after(patience):
                await self._wake.wait()
        if self._items:
            batch = list(self._items)
            self._items.clear()
            if not self._ended:
                self._wake = anyio.Event()
            self._room.set()
            return batch
        if self._ended:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return END  # type: ignore[no-any-return]
        return None

    async def aclose(self) -> None:
        """Stop reading, and wait until the task has ended (its iterator closed)."""
        self._scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._finished.wait()


def _spawn(run: Any) -> None:
    if current_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(run)
        return
    import asyncio

    task = asyncio.get_running_loop().create_task(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
