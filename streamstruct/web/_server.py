"""The async side of streamstruct.web: ``sse`` and ``json_text`` relay a stream through the
sans-I/O encoder (``_protocol``), reading it in a task of its own when keep-alives are wanted."""

from __future__ import annotations

import math
import pathlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import anyio

from .._errors import StreamStructError
from .._io._stream import AsyncIterableStream, AsyncPartialStream
from ._protocol import KEEP_ALIVE, ItemsEncoder, ObjectEncoder, error_frame
from ._pump import END, Pump

__all__ = ["CLIENT_JS", "DEFAULT_KEEP_ALIVE", "SSE_HEADERS", "json_text", "sse"]

SSE_HEADERS: Final[Mapping[str, str]] = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",  # nginx (and proxies that copy it) would buffer the stream
}
"""The headers to send with :func:`sse`: the content type, no caching, no proxy buffering."""

CLIENT_JS: Final[pathlib.Path] = pathlib.Path(__file__).with_name("client.js")
"""The browser client (an ES module, no build step): serve this file, ``import`` it in the page."""

DEFAULT_KEEP_ALIVE: Final = 15.0

AnyStream = AsyncPartialStream[Any] | AsyncIterableStream[Any]


def sse(
    stream: AnyStream, *, keep_alive: float | None = DEFAULT_KEEP_ALIVE
) -> AsyncIterator[bytes]:
    """The stream as ``text/event-stream`` bytes, in the protocol of docs/web.md (version 1).

    ``stream`` is a ``create_partial`` or a ``create_iterable`` stream, not yet iterated. While
    the model is silent for ``keep_alive`` seconds, a comment is sent (``None``: never), so that
    proxies keep the connection open. A :class:`~streamstruct.StreamStructError` mid-stream becomes
    an ``error`` event (its type, message and partial value) and ends the body; closing the iterator
    (an ASGI server does when the browser goes away) closes the upstream response at once.
    """
    if keep_alive is not None and not (keep_alive > 0 and math.isfinite(keep_alive)):
        raise ValueError(
            f"keep_alive must be a positive number of seconds or None, got {keep_alive!r}"
        )
    if isinstance(stream, AsyncIterableStream):
        return _items_sse(stream, keep_alive)
    if isinstance(stream, AsyncPartialStream):
        return _object_sse(stream, keep_alive)
    raise _not_a_stream("web.sse", stream)


async def _object_sse(
    stream: AsyncPartialStream[Any], keep_alive: float | None
) -> AsyncIterator[bytes]:
    encoder = ObjectEncoder()
    yield encoder.start()
    batches = _batches(stream.events(), keep_alive)
    try:
        async for batch in batches:
            if batch is None:
                yield KEEP_ALIVE
                continue
            frames = [data for event in batch if (data := encoder.feed(event)) is not None]
            if frames:
                yield b"".join(frames)
    except StreamStructError as error:
        yield error_frame(error)
    finally:
        await _close(batches, stream)


async def _items_sse(
    stream: AsyncIterableStream[Any], keep_alive: float | None
) -> AsyncIterator[bytes]:
    encoder = ItemsEncoder()
    yield encoder.start()
    batches = _batches(aiter(stream), keep_alive)
    try:
        async for batch in batches:
            if batch is None:
                yield KEEP_ALIVE
            else:
                yield b"".join(encoder.item(item) for item in batch)
        yield encoder.end(await stream.get_final(), stream.usage, stream.finish_reason)
    except StreamStructError as error:
        yield error_frame(error)
    finally:
        await _close(batches, stream)


async def _close(batches: AsyncIterator[Any], stream: AnyStream) -> None:
    """Stop the reading task first (an ``async for`` left early does not close what it iterated),
    then the stream: a response must not be closed from one task while another reads it."""
    with anyio.CancelScope(shield=True):
        await batches.aclose()  # type: ignore[attr-defined]
        await stream.aclose()


async def _batches(
    source: AsyncIterator[Any], keep_alive: float | None
) -> AsyncIterator[list[Any] | None]:
    """What ``source`` gives, in batches (what came while the last was sent); ``None`` after
    ``keep_alive`` seconds of silence. Without keep-alive, read in this task, one at a time."""
    if keep_alive is None:
        try:
            async for item in source:
                yield [item]
        finally:
            aclose = getattr(source, "aclose", None)  # an async for left early does not close it
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
        return
    pump = Pump(source)
    try:
        while (batch := await pump.next_batch(keep_alive)) is not END:
            yield batch
    finally:
        await pump.aclose()


def json_text(stream: AnyStream) -> AsyncIterator[bytes]:
    """The raw JSON text of the answer, UTF-8, as it arrives (what Vercel's ``useObject`` reads).

    For a ``create_iterable`` stream answered as parallel tool calls, each call's JSON is one line.
    An error mid-stream is raised from the iterator, so the ASGI server aborts the response (the
    browser sees a body cut short: the text itself has no way to say why).
    """
    if not isinstance(stream, (AsyncPartialStream, AsyncIterableStream)):
        raise _not_a_stream("web.json_text", stream)
    return _json_text(stream)


async def _json_text(stream: AnyStream) -> AsyncIterator[bytes]:
    sent = 0
    try:
        async for _ in stream:
            text = stream._text_since(sent)
            if text:
                sent += len(text)
                yield text.encode()
        text = stream._text_since(sent)
        if text:
            yield text.encode()
    finally:
        await stream.aclose()


def _not_a_stream(name: str, given: object) -> TypeError:
    # A sync client's stream is the usual mistake: ASGI servers iterate asynchronously.
    return TypeError(
        f"{name} takes a create_partial or create_iterable stream of an AsyncClient (ASGI "
        f"servers are async), not {type(given).__name__}"
    )
