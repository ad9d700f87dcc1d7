"""What iterating a stream yields, and the iterator that yields it.

I/O layer, split out of :mod:`._stream` (issue 13): the public event types of
:meth:`~._stream.AsyncPartialStream.events` (:class:`StreamEnded`, :data:`StreamEvent`), the
iterator each ``async for`` over a stream runs (:class:`StreamIterator`), and what a snapshot or
an items stream picks out of each batch the stream reads (:func:`newest_snapshot`,
:func:`items_only`). The reading itself stays in :mod:`._stream`.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union, final

from typing_extensions import TypeAliasType

from .._core._wire import Usage
from .._model._partial import (
    FieldCompleted,
    FieldStarted,
    PartialEvent,
    SnapshotEvent,
    TextAppended,
)
from .._request._reask import Reasked
from .._response._events import ReasoningAppended
from ._lifecycle import loop_scheduler

if TYPE_CHECKING:
    from ._stream import _BaseStream

__all__ = [
    "SLOW_CONSUMER",
    "StreamEnded",
    "StreamEvent",
    "StreamIterator",
    "items_only",
    "newest_snapshot",
]

# A consumer that took longer than this with an item is slow: its next step catches up on what
# is already buffered (see ``_BaseStream._advance``).
SLOW_CONSUMER = 0.02


@final
@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The last event of :meth:`AsyncPartialStream.events`: the answer is complete and validated."""

    value: Any
    usage: Usage | None
    finish_reason: str | None


# A TypeAliasType, so that the public name belongs to streamstruct (a plain union's __module__ is
# "typing") and reads as StreamEvent in documentation.
StreamEvent = TypeAliasType(
    "StreamEvent",
    Union[  # noqa: UP007
        FieldStarted,
        TextAppended,
        FieldCompleted,
        SnapshotEvent[Any],
        StreamEnded,
        Reasked,
        ReasoningAppended,
    ],
)
"""What :meth:`AsyncPartialStream.events` yields."""


@final
class StreamIterator:
    """One ``async for`` over a stream: batches in, picked outputs out.

    A class, not an async generator: leaving the loop early must not leave a half-run generator
    for the event loop to collect (trio warns about those). Whatever ends the iteration closes
    the stream: the end of the answer, an error (in ``_next_batch``), ``aclose()``, and — for a
    ``break`` with no ``async with`` around the stream — the collection of this iterator, which
    schedules ``aclose()`` on the loop it ran on, as the loop's own async-generator hooks would.
    """

    __slots__ = ("__weakref__", "_after", "_pending", "_pick", "_schedule", "_stream")

    def __init__(
        self,
        stream: _BaseStream[Any, Any],
        pick: Callable[[list[Any]], list[Any]],
        after: Callable[[], Any] | None = None,
    ) -> None:
        self._stream = stream
        self._pick = pick
        self._after = after  # a last item once the stream ended (events(): StreamEnded)
        self._pending: collections.deque[Any] = collections.deque()
        self._schedule = loop_scheduler()

    def __aiter__(self) -> StreamIterator:
        return self

    async def __anext__(self) -> Any:
        pending = self._pending
        stream = self._stream
        if stream._handed_at is not None:
            # How long the consumer took with the last item: a slow one gets what the network
            # delivered meanwhile as one batch (see ``_advance``), so it sees the newest state.
            stream._consumer_slow = time.monotonic() - stream._handed_at > SLOW_CONSUMER
        while not pending:
            batch = await stream._next_batch()
            if batch is None:
                if self._after is not None:
                    after, self._after = self._after, None
                    return after()
                raise StopAsyncIteration
            pending.extend(self._pick(batch))
        stream._handed_at = time.monotonic()
        return pending.popleft()

    async def aclose(self) -> None:
        if not self._stream._finished:
            await self._stream.aclose()

    def __del__(self) -> None:
        stream = self._stream
        if not stream._finished and not stream._closed and stream._response is not None:
            schedule = self._schedule
            if schedule is not None:
                schedule(stream.aclose)


def newest_snapshot(batch: list[PartialEvent]) -> list[Any]:
    for event in reversed(batch):
        if isinstance(event, SnapshotEvent):
            return [event.partial]
    return []


def items_only(batch: list[Any]) -> list[Any]:
    # A Reasked event only ever comes last in its batch (see ``_BaseStream._reask``); items streams show none.
    if batch and type(batch[-1]) is Reasked:
        return batch[:-1]
    return batch
