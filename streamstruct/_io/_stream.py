"""The async stream objects: iteration, ``await``, ``async with``, ``events()``, ``get_final()``.

The I/O shell around :class:`~streamstruct._response._reader.ResponseReader`: one loop reads the HTTP body
and feeds the reader; everything else is bookkeeping. Beside it: :mod:`._lifecycle` (closing a
response, shielded, and scheduling that close from a finaliser) and :mod:`._stream_errors` (the
few errors the shell makes itself), :mod:`._draining` (what follows an answer),
:mod:`._not_events` (a body that is not an event stream) and :mod:`._stream_iterator` (the
events and the iterator of an ``async for``).

How the resources are handled (the response is a resource, so the stream is one too):

* The response is opened on first use (``await stream``, ``async with stream``, the first
  iteration or ``get_final()``), with retries while no body has begun.
* It is closed when the stream ends, on error, on ``aclose()`` / ``async with`` exit, and when an
  iteration is abandoned: each ``async for`` runs a fresh iterator object (not an async
  generator, which trio warns about when dropped half-run) whose finaliser schedules ``aclose()``
  on the loop it ran on, so a ``break`` or a cancellation closes the connection without waiting for
  the stream object itself to be collected. Closing is shielded from cancellation, so a cancelled consumer still
  hands its connection back to the pool. A stream that was opened and then dropped without ever
  being iterated is closed by its own finaliser, on the loop it was opened on.
* A half-read response's body iterators (httpx's and httpcore's nested async generators) are run
  to their end once the response is closed, so none is left for the collector (trio warns).
* ``deadline``: one clock time for the whole request and stream, fixed at first use; a cancel
  scope ending then is entered around each network step (opening, one batch of reads), never
  around a ``yield``.
* Nothing is ever yielded from inside a cancel scope or a task group: reading happens in the
  consumer's own task, in steps. That is also how snapshots coalesce. A consumer that comes back
  quickly gets each step as it arrives. One that took longer than ``SLOW_CONSUMER`` with its last
  item has let the network get ahead: the next step keeps reading while reads return at once (the
  data is already buffered), up to ``_MAX_CATCH_UP``, and hands over one batch, of which a
  snapshot stream yields only the newest snapshot. So a slow consumer gets the latest state, never
  a backlog, without a background task.
* Re-asks (``max_reasks``, :mod:`._reasking`): an answer that fails validation has its response
  closed at once; the next read opens the re-ask's response and a fresh reader, so the same
  stream object carries every attempt, one after the other, under the one deadline.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, ClassVar, Generic, TypeVar, final

import anyio
import httpx

from .._core._redact import Redactor
from .._core._wire import Usage
from .._errors import (
    APIStatusError,
    APITimeoutError,
    ResponseValidationError,
    StreamInterruptedError,
    StreamStructError,
)
from .._model._partial import Partial, PartialEvent
from .._request._reask import Reasked
from .._response._reader import ResponseReader
from ._body import decoded_body
from ._draining import drain_rest, look_ahead
from ._lifecycle import NO_DEADLINE, NoDeadline, close_response, loop_scheduler
from ._not_events import read_if_not_events
from ._reasking import Reasks, summed_usage
from ._stream_errors import unread
from ._stream_iterator import (
    StreamEnded,
    StreamEvent,
    StreamIterator,
    items_only,
    newest_snapshot,
)

__all__ = ["AsyncIterableStream", "AsyncPartialStream", "StreamEnded", "StreamEvent"]

# Coalescing: a consumer that took longer than SLOW_CONSUMER (._stream_iterator) with an item is
# slow; then reads that return within _BUFFERED_READ are taken as already buffered, and are caught
# up on for at most _MAX_CATCH_UP before the newest state is handed over.
_BUFFERED_READ = 0.001
_MAX_CATCH_UP = 0.05

_M = TypeVar("_M")
_T = TypeVar("_T")
_Out = TypeVar("_Out")


Opener = Callable[[], Awaitable[httpx.Response]]
ReaderFactory = Callable[[httpx.Response | None], ResponseReader]
InBandRetry = Callable[[APIStatusError, int], "float | None"]
"""Given an error the server sent inside the stream before any output, and how many times such an
error was retried already: the delay before retrying it, or None to raise it."""


class _BaseStream(Generic[_Out, _M]):
    """What the partial and the iterable streams share: opening, reading, closing."""

    #: A shortcut: a fast consumer's reads without a deadline run inline in ``_next_batch``
    #: (see there). Off, every read goes through ``_advance``; tests/io/test_stream_shortcuts.py
    #: runs the streams both ways and compares.
    inline_reads: ClassVar[bool] = True

    def __init__(
        self,
        open_response: Opener,
        make_reader: ReaderFactory,
        deadline: float | None = None,
        redactor: Redactor | None = None,
        reasks: Reasks | None = None,
        in_band_retry: InBandRetry | None = None,
    ) -> None:
        self._open_response = open_response
        # Re-asks (max_reasks): the next request when an answer fails validation, and what the
        # attempts before the current one leave behind (their errors, their usage).
        self._reasks = reasks
        self._attempts = 1
        self._attempts_errors: list[ResponseValidationError] = []
        self._usage_before: Usage | None = None
        self._returned = 0  # outputs this attempt's reader produced that were handed out
        self._deferred: ResponseValidationError | None = None  # a whole body's, see _feed_whole
        # In-band retries (a dialect's error event before the answer began, e.g. Anthropic's
        # overloaded_error): the policy, and how many were made.
        self._in_band_retry = in_band_retry
        self._in_band_retries = 0
        self._produced = False  # the reader gave an output: from then on nothing is retried
        # The API key is redacted from every error that leaves the stream, whatever raised it.
        self._redactor = redactor
        self._make_reader = make_reader
        # ``deadline`` seconds for the whole request and stream, counted from the first use; the
        # clock time it falls at is fixed then (``_deadline_at``).
        self._deadline = deadline
        self._deadline_at: float | None = None
        self._response: httpx.Response | None = None
        self._reader: ResponseReader | None = None
        self._raw: AsyncIterator[bytes] | None = None
        self._final: Any = None
        self._finished = False
        self._error: BaseException | None = None
        self._closed = False
        self._pending: list[_Out] = []
        self._handed_at: float | None = None  # when the consumer was last handed an item
        self._consumer_slow = False  # outputs produced while opening (a whole completion)
        # How to close the response from a finaliser: set when it opens, on its event loop.
        self._schedule: Callable[[Callable[[], Awaitable[None]]], None] | None = None
        # Whether the reader makes field events: only events() reads them (see _want_field_events).
        self._field_events = True

    # -- what the caller may ask ------------------------------------------------------------------

    @property
    def usage(self) -> Usage | None:
        """Token usage, once the server sent it (with ``stream_options.include_usage``), summed
        over every attempt when answers were re-asked (``max_reasks``)."""
        usage = self._reader.usage if self._reader is not None else None
        return summed_usage(self._usage_before, usage)

    @property
    def attempts(self) -> int:
        """How many answers were asked for: 1, plus one per re-ask (``max_reasks``)."""
        return self._attempts

    @property
    def finish_reason(self) -> str | None:
        """Why the model stopped (``"stop"``, ``"length"``, ``"tool_calls"``, ...), once known."""
        return self._reader.finish_reason if self._reader is not None else None

    @property
    def text(self) -> str:
        """The raw JSON text received so far (in a content mode, with what followed the answer's
        value: see ``trailing``)."""
        return self._reader.text if self._reader is not None else ""

    def _text_since(self, start: int) -> str:
        """``text[start:]`` without joining the whole text: what ``streamstruct.web.json_text``
        sends on each step (``text`` itself would make that quadratic)."""
        return self._reader.text_since(start) if self._reader is not None else ""

    @property
    def trailing(self) -> str:
        """In a content mode, what the model wrote after the answer's JSON value (a second
        value, prose), or ``""``: the first complete value is the answer. It is in ``text`` too."""
        return self._reader.trailing if self._reader is not None else ""

    @property
    def reasoning(self) -> str | None:
        """The model's reasoning so far (thinking, reasoning summaries, chat's
        ``reasoning_content``), or None: never part of the answer."""
        return self._reader.reasoning if self._reader is not None else None

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id`` for this response, when it sent one."""
        return self._reader.request_id if self._reader is not None else None

    @property
    def response(self) -> httpx.Response | None:
        """The HTTP response (status and headers), once opened."""
        return self._response

    # -- opening and closing ----------------------------------------------------------------------

    async def _open(self) -> None:
        if self._reader is not None:
            return
        if self._closed:
            raise StreamInterruptedError("the stream was closed before it was opened")
        try:
            with self._deadline_scope() as scope:
                await self._start(await self._open_response())
        except StreamStructError as error:
            self._redact(error)
            raise
        if scope.cancelled_caught:
            await self._close_response()
            raise self._deadline_error()

    def _redact(self, error: StreamStructError) -> None:
        """The last line of defence: no error leaves the stream quoting the API key."""
        if self._redactor is not None:
            self._redactor.error(error)

    def _deadline_scope(self) -> anyio.CancelScope | NoDeadline:
        """A cancel scope that ends at the stream's deadline (none: never).

        Only ever entered around one awaited step (sending, one read), never around a ``yield``:
        the consumer's code between two snapshots runs outside it.
        """
        if self._deadline is None:
            return NO_DEADLINE
        if self._deadline_at is None:
            self._deadline_at = anyio.current_time() + self._deadline
        return anyio.CancelScope(deadline=self._deadline_at)

    def _deadline_error(self) -> APITimeoutError:
        reader = self._reader
        return APITimeoutError(
            f"the request passed its deadline of {self._deadline:g} s (deadline=...) before "
            "the answer was complete",
            partial=reader.partial if reader is not None else None,
            text=reader.text if reader is not None else "",
        )

    async def _start(self, response: httpx.Response) -> None:
        self._response = response
        self._schedule = loop_scheduler()
        reader = self._reader = self._make_reader(response)
        reader.field_events = self._field_events
        # The body stream itself rather than ``response.aiter_raw()``: one async generator less
        # between us and the socket, and the one we iterate is the one we close, so an early
        # close leaves no generator for the event loop to collect half-way (trio warns).
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        self._raw = stream.__aiter__()
        try:
            self._raw = decoded_body(self._raw, response)
            whole = await read_if_not_events(response, self._raw, reader, self._close_response)
            if whole is not None:
                self._feed_whole(reader, whole[0])
        except BaseException:
            await self._close_response()
            raise

    def _feed_whole(self, reader: ResponseReader, completion: object) -> None:
        """A whole completion (the server ignored ``"stream": true``): its outputs wait for the
        first read, as does its validation error when it is re-asked (see _next_batch): opening
        the stream (``async with``, ``await``) does not fail for an answer re-asked."""
        try:
            self._pending = reader.feed_completion(completion)
        except ResponseValidationError as error:
            if not self._may_reask():
                raise
            self._deferred = error

    async def aclose(self) -> None:
        """Close the stream and its HTTP response (idempotent). A stream closed early stays closed."""
        self._closed = True
        await self._close_response()

    async def _close_response(self) -> None:
        raw, self._raw = self._raw, None
        await close_response(raw, self._response)

    def __del__(self) -> None:
        # Opened, never finished nor closed, and dropped (``await stream`` and then forgotten):
        # close the response on its loop, or its connection would stay checked out of the pool.
        response = getattr(self, "_response", None)  # None if __init__ never got that far
        schedule = getattr(self, "_schedule", None)
        if response is not None and not response.is_closed and schedule is not None:
            raw, self._raw = self._raw, None

            async def close() -> None:
                await close_response(raw, response)

            schedule(close)

    async def __aenter__(self: _S) -> _S:
        await self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __await__(self: _S) -> Generator[Any, None, _S]:
        async def opened() -> _S:
            await self._open()
            return self

        return opened().__await__()

    # -- reading ----------------------------------------------------------------------------------

    async def _next_batch(self) -> list[_Out] | None:
        """Read until something is produced; ``None`` at the end (the final value is then set)."""
        if self._error is not None:
            raise self._error
        if self._finished:
            return None
        if self._closed:
            raise StreamInterruptedError(
                "the stream was closed before the answer was complete",
                partial=self._reader.partial if self._reader is not None else None,
                text=self.text,
            )
        try:
            reader = self._reader
            if (
                reader is None
                or self._deadline is not None
                or self._consumer_slow
                or self._pending
                or self._deferred is not None
                or not self.inline_reads
            ):
                out = await self._advance()
            else:
                # The common step, inline: _advance's reads for a fast consumer without a
                # deadline, a coroutine less per snapshot. The shell alone (the reader replaced by
                # one that costs nothing, 25,613 pieces in process): 1.33 -> 1.13 us per snapshot
                # (0.85x, paired medians of 8 alternate runs, either build: the shell is Python).
                while (raw := self._raw) is not None and not reader.done_marker:
                    try:
                        data = await raw.__anext__()
                    except StopAsyncIteration:
                        break
                    except (httpx.TransportError, httpx.DecodingError) as error:
                        raise unread(error, raw, reader) from error
                    out = reader.feed(data)
                    if reader.broken is not None:
                        await look_ahead(raw, reader)
                    if out:
                        self._returned += len(out)
                        self._produced = True
                        return out
                out = self._end(reader)
            if out:
                self._returned += len(out)
            if self._finished:
                # The answer is complete: what follows [DONE] is drained outside the deadline, so
                # that a deadline falling now cannot turn a complete answer into an error.
                await self._finish_body()
            if out:
                self._produced = True
            return out
        except BaseException as error:
            return await self._failed(error)

    async def _failed(self, error: BaseException) -> list[Any] | None:
        """What a failed read leads to: a re-ask, an in-band retry, or the error (redacted,
        kept for every later read) raised with the response closed."""
        if isinstance(error, ResponseValidationError) and self._may_reask():
            return await self._reask(error)
        if isinstance(error, StreamStructError):
            self._redact(error)
            if isinstance(error, ResponseValidationError) and self._attempts_errors:
                # Every re-ask failed: this error says so, with each attempt's own.
                error.attempts_errors = [*self._attempts_errors, error]
            delay = self._in_band_delay(error)
            if delay is not None:
                await self._close_response()
                await anyio.sleep(delay)
                self._reader = self._response = None  # opened again by the next batch
                return await self._next_batch()
            self._error = error
        await self._close_response()
        raise error

    def _may_reask(self) -> bool:
        reasks = self._reasks
        return reasks is not None and reasks.left > 0 and self._reader is not None

    async def _reask(self, error: ResponseValidationError) -> list[Any]:
        """Throw the answer away and ask again: close the response now (the rest of a rejected
        answer is not worth its tokens), send the conversation plus the answer and its errors,
        and start the next attempt from nothing (its reader opens with the next read). Returns
        what this attempt still owes the consumer, then the :class:`Reasked` event."""
        reader = self._reader
        reasks = self._reasks
        assert reader is not None
        assert reasks is not None
        self._redact(error)
        await self._close_response()
        owed = self._owed(reader)
        reasks.reask(reader, error, kept_items=self._keep(reader))
        self._attempts_errors.append(error)
        self._usage_before = summed_usage(self._usage_before, reader.usage)
        self._attempts += 1
        self._reader = None
        self._returned = 0
        self._pending = []
        return [*owed, Reasked(self._attempts, error, reader.text)]

    def _owed(self, reader: ResponseReader) -> list[Any]:
        """Outputs of a rejected attempt still to hand out (items validated before the error)."""
        return []

    def _keep(self, reader: ResponseReader) -> int:
        """Keep what a rejected attempt validated (an ``Iterable``'s items); return how many
        items are kept over all attempts, which the re-ask tells the model."""
        return 0

    def _completed(self, final: Any) -> Any:
        """The final value of the attempt that succeeded, with what earlier attempts kept."""
        return final

    def _in_band_delay(self, error: StreamStructError) -> float | None:
        """The delay before sending the request again, when ``error`` is an error the server
        sent inside the stream (Anthropic's ``overloaded_error``), retryable, and came before
        the answer began; else None."""
        retry = self._in_band_retry
        if retry is None or self._produced or self._reader is None:
            return None  # (no reader: the request itself failed, after its own retries)
        if not isinstance(error, APIStatusError) or self._finished or self._closed:
            return None
        delay = retry(error, self._in_band_retries)
        if delay is not None:
            self._in_band_retries += 1
        return delay

    async def _advance(self) -> list[_Out] | None:
        """Read until something is produced, under the deadline; ``None`` once the answer is
        complete. (A fast consumer's reads without a deadline: inline in ``_next_batch``.)"""
        if self._reader is None:
            await self._open()
        reader = self._reader
        assert reader is not None
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        if self._pending:
            out, self._pending = self._pending, []
            return out
        batch: list[_Out] = []
        slow = self._consumer_slow
        drain_until = time.monotonic() + _MAX_CATCH_UP if slow else 0.0
        started = 0.0
        with self._deadline_scope() as scope:
            while (raw := self._raw) is not None and not reader.done_marker:
                if slow:
                    started = time.monotonic()
                try:  # one network read (inline: a coroutine per read less)
                    data = await raw.__anext__()
                except StopAsyncIteration:
                    break
                except (httpx.TransportError, httpx.DecodingError) as error:
                    raise unread(error, raw, reader) from error
                out = reader.feed(data)
                if reader.broken is not None:
                    await look_ahead(raw, reader)
                if out:
                    # A fast consumer gets each step as it comes. After a slow one, reads that
                    # return at once come from what is already buffered: keep reading them, so
                    # that the batch ends with the newest state (and a snapshot stream yields that
                    # one only), until a read has to wait for the network or catching up takes
                    # too long.
                    if not slow:
                        return out
                    batch.extend(out)
                    now = time.monotonic()
                    if now >= drain_until or now - started > _BUFFERED_READ:
                        return batch
        if scope.cancelled_caught:
            raise self._deadline_error()
        if batch:
            return batch  # the rest (the end) comes with the next call
        return self._end(reader)

    def _end(self, reader: ResponseReader) -> list[_Out] | None:
        """The body ended: the final value. What only the end produced (the snapshot of the
        validated model, when validation filled in defaults) is the last batch."""
        self._final = self._completed(reader.finish())
        self._finished = True
        return reader.final_outputs or None

    async def _finish_body(self) -> None:
        """After ``[DONE]``, read the rest of the body (:func:`._draining.drain_rest`), then close."""
        if self._raw is not None and await drain_rest(self._raw):
            self._raw = None  # exhausted: nothing to close but the response
        await self._close_response()

    def _want_field_events(self, wanted: bool) -> None:
        """Make field events from now on, or not: a consumer of snapshots alone, or of the final
        value alone, does not pay for what it never sees (a tenth of the CPU of a stream)."""
        self._field_events = wanted
        if self._reader is not None:
            self._reader.field_events = wanted

    async def _drain(self) -> Any:
        """Read to the end; return the final value."""
        self._want_field_events(False)
        while await self._next_batch() is not None:
            pass
        return self._final

    def _iterate(self, pick: Callable[[list[_Out]], list[Any]]) -> StreamIterator:
        return StreamIterator(self, pick)


_S = TypeVar("_S", bound="_BaseStream[Any, Any]")


@final
class AsyncPartialStream(_BaseStream[PartialEvent, _M]):
    """One object, streamed: iterate for ``Partial[M]`` snapshots, then ``await get_final()``.

    >>> async with client.chat.completions.create_partial(...) as stream:  # doctest: +SKIP
    ...     async for partial in stream:
    ...         print(partial.name, streamstruct.progress(partial).percent)
    ...     user = await stream.get_final()

    Each snapshot is yielded only when something visible changed; when the consumer is slower than
    the network, snapshots coalesce to the newest. The last snapshot yielded is complete.
    """

    def __aiter__(self) -> AsyncIterator[Partial[_M]]:
        self._want_field_events(False)
        return self._iterate(newest_snapshot)

    def events(self) -> AsyncIterator[StreamEvent]:
        """Typed events for a UI: fields started, text appended, fields completed (validated),
        snapshots, and last :class:`StreamEnded` with the final value, usage and finish reason.
        With ``max_reasks``, a :class:`~streamstruct.Reasked` before each new attempt's events."""
        self._want_field_events(True)
        return StreamIterator(self, list, self._ended)

    def _ended(self) -> StreamEnded:
        return StreamEnded(self._final, self.usage, self.finish_reason)

    async def get_final(self) -> _M:
        """The validated model: reads the rest of the stream if needed."""
        return await self._drain()  # type: ignore[no-any-return]

    @property
    def partial(self) -> Any:
        """The newest snapshot (``Partial[M]``), or None before the object began."""
        return self._reader.partial if self._reader is not None else None


@final
class AsyncIterableStream(_BaseStream[Any, list[_T]]):
    """Many objects, streamed: each item is yielded, validated, the moment it closes."""

    # Items yielded by attempts whose answer was rejected later (max_reasks): kept, and not
    # asked for again (the re-ask tells the model how many it already gave).
    _kept: list[_T] | None = None

    def __aiter__(self) -> AsyncIterator[_T]:
        return self._iterate(items_only)

    async def get_final(self) -> list[_T]:
        """Every item: reads the rest of the stream if needed."""
        return await self._drain()  # type: ignore[no-any-return]

    @property
    def items(self) -> list[_T]:
        """The items validated so far (over every attempt, when answers were re-asked)."""
        current: list[_T] = self._reader.partial if self._reader is not None else []
        return [*self._kept, *current] if self._kept else current

    def _owed(self, reader: ResponseReader) -> list[Any]:
        # Items validated in a read whose batch the error cut short: they are yielded still.
        return list(reader.partial[self._returned :])

    def _keep(self, reader: ResponseReader) -> int:
        self._kept = [*(self._kept or ()), *reader.partial]
        return len(self._kept)

    def _completed(self, final: Any) -> Any:
        return [*self._kept, *final] if self._kept else final
