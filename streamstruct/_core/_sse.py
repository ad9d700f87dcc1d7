"""Server-Sent Events: bytes in, events out (sans-I/O).

This module owns the first step of the pipeline: turning the raw bytes of a ``text/event-stream``
response body into :class:`ServerSentEvent` objects, following the WHATWG "event stream
interpretation" rules (HTML §9.2.6) exactly. It knows nothing of HTTP, httpx, anyio or JSON; the
client feeds it whatever the network delivered and reads back whole events.

How it stays linear: each network read is searched for its last line break once, from the end
(``rfind``), and the bytes up to it are split into lines in one C-level pass. Only the unfinished
tail of the last line is kept, in a bytearray that grows in amortised linear time and is read once
when its line break arrives; nothing is ever re-scanned. Per-line Python work is a handful of
operations; there is no per-character loop.

Why bytes and not text: CR, LF and ``:`` are ASCII, and no byte of a multi-byte UTF-8 sequence is
ASCII, so splitting lines and fields on bytes first and decoding each value afterwards (with
``errors="replace"``) gives exactly the text an incremental UTF-8 decoder over the whole stream would
give — a character split across reads is decoded whole, because it sits in one line — while the
size caps can count real bytes.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Final, NoReturn, TypeAlias, final

from .._errors import SSEError, SSELimitError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_MiB: Final = 1024 * 1024
_DEFAULT_MAX_LINE_BYTES: Final = 8 * _MiB
_DEFAULT_MAX_EVENT_BYTES: Final = 8 * _MiB

_BOM: Final = b"\xef\xbb\xbf"
_LF: Final = 0x0A


_EventFields: TypeAlias = tuple[str, str, str | None, int | None]
"""A :class:`ServerSentEvent`'s fields, in order: ``(event, data, id, retry)``."""


@final
@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched Server-Sent Event.

    ``event`` is the event type (``"message"`` when the server sent no ``event:`` field, or an empty
    one). ``data`` is the event's ``data:`` lines joined with ``"\\n"``. ``id`` is the stream's last
    event id as of this event: it is sticky, so an event without an ``id:`` field carries the id of an
    earlier one; ``None`` until the server sends one, and ``""`` once the server resets it with an
    empty ``id:``. ``retry`` is the reconnection time in milliseconds most recently set by a
    ``retry:`` field, sticky like ``id`` (in the spec it is a property of the stream, not of one
    event, and a ``retry:`` block without data is never dispatched on its own), ``None`` until set.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def __reduce__(self) -> tuple[type[ServerSentEvent], _EventFields]:
        # Pickled by its fields: a frozen class compiled by mypyc cannot be unpickled by setting
        # its attributes (the compiled _sse module, see hatch_build.py).
        return ServerSentEvent, (self.event, self.data, self.id, self.retry)


@final
class SSEDecoder:
    """Decode a Server-Sent Events byte stream, incrementally.

    Feed it the body's bytes as they arrive, in chunks of any size, and call :meth:`close` at the end
    of the body. Chunking never changes the result: the same bytes give the same events whether fed
    whole or one byte at a time.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b'data: {"a": 1}\\n\\nda')
    [ServerSentEvent(event='message', data='{"a": 1}', id=None, retry=None)]
    >>> decoder.feed(b"ta: [DONE]\\n\\n")
    [ServerSentEvent(event='message', data='[DONE]', id=None, retry=None)]
    >>> decoder.close()
    []

    Memory is bounded: an unfinished line may hold at most ``max_line_bytes`` bytes, and the ``data``
    of one unfinished event at most ``max_event_bytes`` bytes; past either cap the decoder raises
    :class:`~streamstruct.SSELimitError` (after returning any events that the same chunk completed
    first). A server that sends an endless line without a line break therefore costs at most
    ``max_line_bytes`` of memory, not the whole body.

    Once :meth:`close` was called, or an error was raised, the decoder is finished: :meth:`feed`
    raises :class:`~streamstruct.SSEError`.
    """

    __slots__ = (
        "_closed",
        "_data",
        "_error",
        "_event_type",
        "_last_event_id",
        "_max_event_bytes",
        "_max_line_bytes",
        "_pending",
        "_retry",
        "_skip_lf",
        "_start_of_stream",
        "_whole_events",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int = _DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = _DEFAULT_MAX_EVENT_BYTES,
        whole_events: bool = True,
    ) -> None:
        """Create a decoder.

        ``max_line_bytes`` caps the length of one line (field name, colon and value, without the line
        break) and ``max_event_bytes`` the size of one event's ``data`` (all its ``data:`` values plus
        one byte per line break between them). Both default to 8 MiB.

        ``whole_events`` (a shortcut, on by default; off in the tests that compare it with the
        general path): a chunk that is exactly one ``data: ...`` line and its blank line, the
        usual read of a chunked stream, is taken without splitting it into lines.
        """
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, not {max_line_bytes!r}")
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be at least 1, not {max_event_bytes!r}")
        self._max_line_bytes = max_line_bytes
        self._max_event_bytes = max_event_bytes
        # The unfinished last line. A bytearray grows in amortised linear time and costs about its
        # length in memory, even when it arrives one byte per read (a list of pieces would cost
        # ~40 bytes of object overhead per piece, so the cap would no longer bound memory).
        self._pending = bytearray()
        # The previous chunk ended in CR: its line is already complete, but a LF that starts the
        # next chunk is the second half of a CRLF and must not count as a second (blank) line.
        self._skip_lf = False
        # Only the very first line of the stream may start with the byte order mark.
        self._start_of_stream = True
        # The event being built: its data (None until a `data:` line came, so that `data:` alone
        # still makes an event with data "") and its type.
        self._data: bytes | bytearray | None = None
        self._event_type = ""
        # Stream state that outlives events.
        self._last_event_id: str | None = None
        self._retry: int | None = None
        self._closed = False
        self._whole_events = whole_events
        # A cap was passed in a chunk that also completed events: those are returned first, and
        # the error is raised by the next call.
        self._error: SSELimitError | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id the server set (what a reconnection sends as ``Last-Event-ID``).

        Unlike :attr:`ServerSentEvent.id`, this also reflects an ``id:`` in a block that dispatched
        no event (a block without ``data:``).
        """
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds the server last set with ``retry:``, or ``None``."""
        return self._retry

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode the next chunk of the body; return the events it completed, in order.

        Raises :class:`~streamstruct.SSELimitError` when a line or an event passes its cap, and
        :class:`~streamstruct.SSEError` when the decoder was closed or failed earlier.
        """
        return [ServerSentEvent(*fields) for fields in self._feed_fields(data)]

    def _feed_fields(self, data: bytes) -> list[_EventFields]:
        """:meth:`feed`, each event as the tuple ``(event, data, id, retry)`` of its fields.

        Internal: the response reader's building block, not public API (hence the underscore,
        though :mod:`._reader` calls it). For a caller that reads every event of a stream once, making a tuple
        takes ~10 ns, the frozen event object ~500 ns, per event of a stream.
        """
        if self._closed:
            self._raise_finished()
        if not data:
            return []
        if (
            self._whole_events
            and data.endswith(b"\n\n")
            and data.startswith(b"data: ")
            and data.find(b"\n") == len(data) - 2
            and self._data is None
            and not self._pending
            and not self._skip_lf
            and not self._start_of_stream
            and b"\r" not in data
            and len(data) - 2 <= self._max_line_bytes
            and len(data) - 8 <= self._max_event_bytes
        ):
            # One HTTP chunk per event, as servers send them: the one event, as the general path
            # gives it, with no split, no line loop and no call. Pure: 1.27 -> 1.07-1.09 us per
            # event (0.85x); compiled: 0.69 -> 0.55 (0.79x). The e2e tools and content
            # transcripts, 100 KB, fed a chunk per event: CPU, paired medians of 31 interleaved runs.
            event_type, self._event_type = self._event_type, ""
            return [
                (
                    event_type or "message",
                    data[6:-2].decode("utf-8", "replace"),
                    self._last_event_id,
                    self._retry,
                )
            ]
        return self._feed_lines(data)

    def _feed_lines(self, data: bytes) -> list[_EventFields]:
        """:meth:`_feed_fields`' general path: any chunk, cut into lines."""
        start = 0
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == _LF:
                start = 1
        # The last line break in the chunk: everything before it is whole lines, everything after
        # it the start of an unfinished one. Searching from the end finds it without scanning the
        # lines in between twice.
        last_lf = data.rfind(b"\n", start)
        last_cr = data.rfind(b"\r", start)
        end = (last_lf if last_lf > last_cr else last_cr) + 1
        pending = self._pending
        if end == 0:
            # No line break: the chunk only continues the unfinished line (the usual case for small
            # reads, so it is kept short). Checked before storing: the buffer never passes the cap.
            size = len(pending) + len(data) - start
            if size > self._max_line_bytes:
                self._finish()
                raise self._line_too_long(size)
            pending += memoryview(data)[start:] if start else data
            return []
        events: list[_EventFields] = []
        try:
            if pending:
                pending += memoryview(data)[start:end]
                block = bytes(pending)
                # clear() also frees the buffer, so a long line's memory is not kept for good.
                pending.clear()
            else:
                block = data[start:end] if start or end != len(data) else data
            if last_cr >= 0:
                if last_cr == len(data) - 1:
                    self._skip_lf = True
                # CR and CRLF become LF, so one split finds every line. A CR that ends the chunk
                # ends its line now: the event it completes is not held back for the next read.
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = block.split(b"\n")
            lines.pop()  # the empty string after the final line break
            if self._start_of_stream:
                self._start_of_stream = False
                if lines[0].startswith(_BOM):
                    self._check_line(len(lines[0]))
                    lines[0] = lines[0][3:]
            self._take_lines(lines, len(block), events)
            if end != len(data):
                size = len(data) - end
                self._check_line(size)
                pending += memoryview(data)[end:]
        except SSELimitError as exc:
            self._finish()
            if not events:
                raise
            self._error = exc
        return events

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the body; return the events it completed (always none).

        Per the spec, an event whose terminating blank line never arrived is discarded, and so is an
        unfinished last line. Calling ``close()`` again is harmless. Raises the
        :class:`~streamstruct.SSELimitError` that the last :meth:`feed` deferred, if any.
        """
        error = self._error
        self._finish()
        if error is not None:
            raise error
        return []

    # -- internals ---------------------------------------------------------------------------

    def _raise_finished(self) -> NoReturn:
        error = self._error
        if error is not None:
            self._error = None
            raise error
        raise SSEError(
            "SSEDecoder.feed() called after close() or after an error; "
            "use a new decoder for a new stream"
        )

    def _finish(self) -> None:
        # Release the buffers at once: a failed decoder must not keep up to two caps of memory.
        self._closed = True
        self._error = None
        self._pending = bytearray()
        self._data = None

    def _check_line(self, size: int) -> None:
        if size > self._max_line_bytes:
            raise self._line_too_long(size)

    def _line_too_long(self, size: int) -> SSELimitError:
        limit = self._max_line_bytes
        return SSELimitError(
            f"an SSE line grew past max_line_bytes={limit} ({_describe(limit)}) without a line "
            f"break (seen so far: {size} bytes); the body may not be Server-Sent Events. If such "
            "long lines are expected, raise the cap with SSEDecoder(max_line_bytes=...)",
            limit=limit,
        )

    def _take_lines(self, lines: list[bytes], block_size: int, events: list[_EventFields]) -> None:
        """Interpret whole lines (without their line breaks), appending dispatched events."""
        if block_size > self._max_line_bytes and max(map(len, lines)) > self._max_line_bytes:
            # A whole line past the cap came in one chunk. Take the lines before it, then fail at
            # it, exactly as if it had arrived in pieces (when the unfinished line would have failed).
            for index, line in enumerate(lines):
                if len(line) > self._max_line_bytes:
                    self._take_lines(lines[:index], 0, events)
                    self._check_line(len(line))
        # Locals, written back at the end: this loop runs once per line of every stream.
        data = self._data
        event_type = self._event_type
        last_event_id = self._last_event_id
        retry = self._retry
        max_event_bytes = self._max_event_bytes
        for line in lines:
            if not line:
                # A blank line dispatches the event, but only if it has data (a keep-alive comment,
                # or a lone `id:`/`event:`/`retry:` block, is no event): R8.
                if data is not None:
                    events.append(
                        (
                            event_type or "message",
                            data.decode("utf-8", "replace"),
                            last_event_id,
                            retry,
                        )
                    )
                    data = None
                event_type = ""
                continue
            # The common case, `data: <json>`, skips the general field split below.
            if line.startswith(b"data: "):
                name = b"data"
                value = line[6:]
            else:
                name, colon, value = line.partition(b":")
                if colon:
                    if not name:
                        continue  # a comment (`:` first), e.g. a keep-alive
                    if value.startswith(b" "):
                        value = value[1:]
            if name == b"data":
                # One data line (by far the usual) is kept as it is; a second one starts a bytearray
                # that the rest are appended to, joined with LF as they come, in linear time and
                # without one object per line (which would make memory a multiple of the cap).
                size = len(value) if data is None else len(data) + 1 + len(value)
                if size > max_event_bytes:
                    raise SSELimitError(
                        f"an SSE event's data grew past max_event_bytes={max_event_bytes} "
                        f"({_describe(max_event_bytes)}) before its terminating blank line (seen so "
                        f"far: {size} bytes). If such large events are expected, raise the cap "
                        "with SSEDecoder(max_event_bytes=...)",
                        limit=max_event_bytes,
                    )
                if data is None:
                    data = value
                else:
                    if not isinstance(data, bytearray):
                        data = bytearray(data)
                    data += b"\n"
                    data += value
            elif name == b"event":
                event_type = value.decode("utf-8", "replace")
            elif name == b"id":
                if b"\x00" not in value:
                    last_event_id = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():
                # bytes.isdigit() is true only for ASCII digits: "+5", " 7", "1_0" and other
                # scripts' digits, all of which int() would accept, are ignored as the spec says.
                # A value with more digits than Python converts (sys.get_int_max_str_digits()) is
                # no sensible reconnection time either, and is ignored the same way.
                with suppress(ValueError):
                    retry = int(value)
            # Any other field name is ignored (names are case-sensitive).
        self._data = data
        self._event_type = event_type
        self._last_event_id = last_event_id
        self._retry = retry


def _describe(size: int) -> str:
    if size >= _MiB:
        return f"{size / _MiB:g} MiB"
    if size >= 1024:
        return f"{size / 1024:g} KiB"
    return f"{size} bytes"
