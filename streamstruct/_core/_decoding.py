"""What the response reader asks of a wire format: one event's data in, a normalised update out.

:class:`~streamstruct._response._reader.ResponseReader` knows nothing of any wire format: it is given an
:class:`EventDecoder` and applies what it returns, a :class:`~streamstruct._core._wire.ChunkUpdate`
(text for the JSON source, tool-call fragments, usage, finish reason, refusal, error) or, for the
events nearly every stream is made of, a bare :data:`TextPiece`. A second wire format is one
decoder beside :mod:`._wire` (:mod:`._wire_anthropic`, :mod:`._wire_responses`) wrapped in
:class:`JSONEventDecoder`; nothing in the reader changes.

- :class:`ChatEventDecoder`: chat completions (``chat.completion.chunk``), with the fast path of
  :meth:`~streamstruct._core._wire.ChunkDecoder.decode_data` and the ``[DONE]`` marker.
- :class:`JSONEventDecoder`: any decoder of ``json.loads``-ed payloads (``decode(payload,
  event=...)``), the finish reasons that mean "cut short" given with it.

Core layer: the standard library, :mod:`._errors` and :mod:`._wire` only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar, Final, Protocol, TypeAlias, final

from .._errors import ProtocolError
from ._wire import ChunkDecoder, ChunkUpdate, ToolCallKey, parse_completion

__all__ = [
    "END_OF_STREAM",
    "ChatEventDecoder",
    "EventDecoder",
    "JSONEventDecoder",
    "PayloadDecoder",
    "TextPiece",
]

TextPiece: TypeAlias = tuple[ToolCallKey | None, str]
"""A piece of the JSON source and nothing else: ``(None, text)`` of the content, ``(key, text)``
of a tool call's arguments. A tuple, not a ChunkUpdate: see ChunkDecoder.decode_text's figure."""

END_OF_STREAM: Final = ChunkUpdate()
"""Returned (compared by identity) for an event that ends the stream: chat's ``data: [DONE]``."""


class EventDecoder(Protocol):
    """Turns the events of one response, in order, into normalised updates (one per response).

    :meth:`decode_event` raises ``ValueError`` (or ``RecursionError``) when ``data`` is not JSON:
    the reader says so, quoting the data with the API key redacted; and a
    :class:`~streamstruct.StreamStructError` (a :class:`~streamstruct.MalformedChunkError`) for
    JSON of the wrong shape.
    """

    @property
    def incomplete_reasons(self) -> frozenset[str]:
        """The finish reasons that mean the output was cut short (a token budget, a filter)."""
        ...

    @property
    def missing_end(self) -> str:
        """What the wire format ends a stream with, said as missing (for a stream cut short)."""
        ...

    def decode_event(self, data: str, event: str | None) -> TextPiece | ChunkUpdate:
        """One SSE event's data (and its ``event:`` name) as an update, or :data:`END_OF_STREAM`."""
        ...

    def decode_body(self, body: object) -> ChunkUpdate:
        """A whole, non-streamed response body (its ``json.loads``) as one update."""
        ...


class PayloadDecoder(Protocol):
    """What the dialect decoders are: ``decode`` of an event's ``json.loads``; ``decode_data``
    of the data of an event in a learnt envelope (no ``json.loads``: None for any other data),
    and ``learn`` of the envelope of an event that ``decode`` gave text or arguments."""

    def decode(self, payload: object, *, event: str | None = None) -> ChunkUpdate: ...

    def decode_data(self, data: str, event: str | None) -> TextPiece | None: ...

    def learn(self, data: str, event: str | None, payload: object) -> None: ...


@final
class ChatEventDecoder:
    """Chat completions: most events skip ``json.loads`` (:meth:`ChunkDecoder.decode_data`)."""

    __slots__ = ("_chunks",)

    incomplete_reasons: ClassVar[frozenset[str]] = frozenset({"length", "content_filter"})
    missing_end: ClassVar[str] = "no finish_reason and no [DONE] were received"

    def __init__(self) -> None:
        self._chunks = ChunkDecoder()

    def decode_event(self, data: str, event: str | None) -> TextPiece | ChunkUpdate:
        chunks = self._chunks
        # Most events: the last common chunk's envelope around a new string (no json.loads).
        text = chunks.decode_data(data, event)
        if text is not None:
            return text
        if data.startswith("[DONE]"):
            return END_OF_STREAM
        chunk = json.loads(data)  # ValueError, RecursionError: the reader says what came
        text = chunks.decode_text(chunk, event)
        if text is None:
            return chunks.decode_other(chunk, event=event)
        chunks.learn(data, event, chunk)  # its envelope, for the next events
        return text

    def decode_body(self, body: object) -> ChunkUpdate:
        return parse_completion(body)


@final
class JSONEventDecoder:
    """Any payload decoder as an :class:`EventDecoder`: ``json.loads`` of each event's data, then
    ``decoder.decode``; most events skip both (``decoder.decode_data``: a learnt envelope around
    a new string). ``decode_body`` is given when the wire format has a non-streamed form the
    reader may meet (a server ignoring ``stream``); without it such a body is a protocol error.

    ``envelopes=False`` is the plain path (every event ``json.loads``-ed and decoded), which the
    tests hold the envelopes to: the same updates, event for event. The envelopes take the
    Responses and Anthropic streams' CPU per event from 1.12-1.32x chat's to 0.89-1.14x compiled,
    and from 1.10-1.18x to 0.89-1.08x pure (before: quick e2e runs, burst, 2 and 10 KB; after: two
    full ``python -m benchmarks --only e2e`` runs on a quiet machine, every size and pace).
    """

    __slots__ = ("_decode_body", "_decoder", "_envelopes", "incomplete_reasons", "missing_end")

    def __init__(
        self,
        decoder: PayloadDecoder,
        *,
        incomplete_reasons: frozenset[str],
        missing_end: str = "no event ending the stream was received",
        decode_body: Callable[[object], ChunkUpdate] | None = None,
        envelopes: bool = True,
    ) -> None:
        self._decoder = decoder
        self._decode_body = decode_body
        self._envelopes = envelopes
        self.incomplete_reasons = incomplete_reasons
        self.missing_end = missing_end

    def decode_event(self, data: str, event: str | None) -> TextPiece | ChunkUpdate:
        decoder = self._decoder
        if not self._envelopes:
            return decoder.decode(json.loads(data), event=event)
        text = decoder.decode_data(data, event)
        if text is not None:
            return text
        payload = json.loads(data)  # ValueError, RecursionError: the reader says what came
        update = decoder.decode(payload, event=event)
        if update.content is not None or update.tool_calls:
            decoder.learn(data, event, payload)  # its envelope, for the next events
        return update

    def decode_body(self, body: object) -> ChunkUpdate:
        if self._decode_body is None:
            raise ProtocolError("this wire format has no whole-body form: expected an event stream")
        return self._decode_body(body)
