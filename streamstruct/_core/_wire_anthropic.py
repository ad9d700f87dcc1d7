"""Anthropic Messages stream events → the same typed updates as chat chunks (sans-I/O).

``POST /v1/messages`` with ``stream: true`` sends ``message_start``, then for each content block
``content_block_start``, ``content_block_delta``\\* and ``content_block_stop``, then
``message_delta`` (the stop reason, the output tokens) and ``message_stop``; ``ping`` may come
anywhere and ``error`` mid-stream. Each event's ``event:`` name equals the ``type`` in its data;
there is no ``[DONE]``. :class:`AnthropicDecoder` turns each event (the ``json.loads`` of its
data) into the :class:`~streamstruct._core._wire.ChunkUpdate` the chat decoder gives. The events, their
fields and where each was checked are listed in docs/dialects.md.

What each event becomes:

- ``text_delta`` in a ``text`` block: ``content`` (the JSON text of the json_schema/json modes).
- A ``tool_use`` block: a tool-call fragment keyed by the block's ``index``, with the block's
  ``id`` and ``name`` when it starts, then each ``input_json_delta.partial_json``; its
  ``content_block_stop`` completes the call (``calls_done``). A tool without arguments sends only
  ``partial_json: ""``: its input is then the ``input`` of ``content_block_start`` (``{}``), sent
  as JSON text when the block stops, so that the call's text is never empty.
- ``thinking_delta`` in a ``thinking`` block: ``reasoning``, never the JSON. ``signature_delta``,
  ``citations_delta``, ``redacted_thinking`` blocks and the blocks of server tools
  (``server_tool_use`` streams ``input_json_delta`` too, but it is not our tool) add nothing.
- ``message_start`` and ``message_delta``: ``usage``, mapped as prompt = ``input_tokens`` +
  ``cache_creation_input_tokens`` + ``cache_read_input_tokens`` (what Anthropic's types call the
  total input), completion = ``output_tokens``; both counts are cumulative and the last wins.
- ``message_delta``: ``finish_reason`` = ``stop_reason`` as sent (``end_turn``, ``tool_use``,
  ``max_tokens``, ``refusal``, ...). For ``refusal`` the ``stop_details.explanation``, when there
  is one, is the ``refusal`` text.
- ``error`` (event name or type): ``error``, an :class:`~streamstruct._core._wire.APIErrorInfo` with the
  status its type stands for (``overloaded_error`` 529, ``rate_limit_error`` 429, ...).
- ``ping``, ``message_stop`` and event types added later: nothing.

A payload that is not an object, or whose fields this module reads have the wrong type, raises
:class:`~streamstruct.MalformedChunkError` (an ``APIError``) naming the event and the path, and so does a delta for a block
that never started; unknown fields, delta types and block types are ignored.
"""

from __future__ import annotations

import json
from typing import Any, Final, final

from .._errors import MalformedChunkError
from ._envelope import ENVELOPE_TRIES, Envelope, learn_envelope
from ._updates import APIErrorInfo, ChunkUpdate, ToolCallDelta, Usage
from ._updates import count as _count
from ._updates import error_message as _error_message
from ._updates import malformed as _malformed

__all__ = ["INCOMPLETE_REASONS", "REFUSAL_REASONS", "AnthropicDecoder"]

INCOMPLETE_REASONS: Final = frozenset({"max_tokens", "model_context_window_exceeded"})
"""Stop reasons that mean the output was cut short (the token budget, or the context window)."""

REFUSAL_REASONS: Final = frozenset({"refusal"})
"""Stop reasons that mean the model refused."""

_EMPTY: Final = ChunkUpdate()

# The HTTP status each error type is sent with (docs.claude.com/en/api/errors); billing_error and
# timeout_error are in the SDK's ErrorType but not in that table: 402 and 504 by their names.
_ERROR_STATUS: Final[dict[str, int]] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

# What a content block is to us, by its type; any other type is "other" and adds nothing.
_BLOCK_KINDS: Final = {"text": "text", "thinking": "thinking", "tool_use": "tool_use"}


@final
class _ToolBlock:
    """A tool_use block: whether it sent argument text, and its start input to fall back on."""

    __slots__ = ("sent", "start_input")

    def __init__(self, start_input: str) -> None:
        self.sent = False
        self.start_input = start_input


@final
class AnthropicDecoder:
    """Decodes the events of one Messages stream, in order.

    One decoder per response: it remembers each content block's kind (a delta says only its
    block's index) and the input token counts of ``message_start`` (a ``message_delta`` may repeat
    them or not).
    """

    __slots__ = ("_blocks", "_envelope", "_envelope_tries", "_input_counts", "_tools")

    def __init__(self) -> None:
        self._blocks: dict[int, str] = {}  # index -> "text" | "thinking" | "tool_use" | "other"
        self._tools: dict[int, _ToolBlock] = {}
        self._input_counts = [0, 0, 0]  # the _INPUT_FIELDS, as last sent
        # The envelope of the last text or input delta (see decode_data), and how many were
        # learnt in a row without being used since.
        self._envelope: Envelope | None = None
        self._envelope_tries = 0

    def decode_data(self, data: str, event: str | None) -> tuple[int | None, str] | None:
        """What :meth:`decode` of ``json.loads(data)`` gives, as a bare ``(key, text)``, for a
        ``content_block_delta`` (``text_delta`` or ``input_json_delta``) in the envelope of an
        earlier one (:meth:`learn`); None for any other data, which the caller then decodes the
        ordinary way. Skips ``json.loads`` (see :mod:`._envelope`); the block bookkeeping is
        kept as :meth:`decode` keeps it: the block at the index must (still) be of the delta's
        kind, and an input delta with text marks its tool block as sent.
        """
        envelope = self._envelope
        if envelope is None:
            return None
        text = envelope.text_of(data, event)
        if text is None:
            return None
        index = envelope.index
        assert index is not None
        block = self._blocks.get(index)
        key = envelope.key
        if key is None:
            if block != "text":
                return None
        elif block != "tool_use":
            return None
        elif text:
            self._tools[index].sent = True
        self._envelope_tries = 0
        return key, text

    def learn(self, data: str, event: str | None, payload: object) -> None:
        """Keep the envelope of ``data`` (``payload`` is its ``json.loads``, just decoded to
        text or a tool's input) for :meth:`decode_data`, its hole the delta's string."""
        self._envelope = None
        if self._envelope_tries >= ENVELOPE_TRIES or type(payload) is not dict:
            return
        index = payload.get("index")
        delta = payload.get("delta")
        if payload.get("type") != "content_block_delta" or type(index) is not int:
            return
        if type(delta) is not dict:
            return
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            key, field = None, "text"
        elif delta_type == "input_json_delta":
            key, field = index, "partial_json"
        else:
            return
        self._envelope_tries += 1
        self._envelope = learn_envelope(
            data, event, payload, ("delta", field), key=key, index=index
        )

    def decode(self, payload: object, *, event: str | None = None) -> ChunkUpdate:
        """Decode one event: the ``json.loads`` of its data, and its SSE event name.

        The ``type`` in the data says what the event is (the ``event:`` name when the data has
        none); an SSE event named ``error`` is an error whatever its data says. Raises
        :class:`~streamstruct.MalformedChunkError` for a malformed event.
        """
        if not isinstance(payload, dict):
            what = f"Anthropic event {event or ''}".rstrip()
            raise _malformed(what, "the data", payload, "an object")
        kind = payload.get("type")
        if not isinstance(kind, str):
            kind = event or ""
        if event == "error" or kind == "error":
            return ChunkUpdate(error=_error_info(payload))
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_start":
            message = _object(payload.get("message"), kind, "message")
            return ChunkUpdate(usage=self._usage(message.get("usage"), kind, "message.usage"))
        if kind == "message_delta":
            return self._message_delta(payload)
        return _EMPTY  # ping, message_stop, and event types added later

    def _delta(self, payload: dict[str, Any]) -> ChunkUpdate:
        kind = "content_block_delta"
        index = self._index(payload, kind)
        block = self._blocks.get(index)
        if block is None:
            raise MalformedChunkError(
                f"malformed Anthropic event {kind}: index {index} names no block that a "
                "content_block_start began"
            )
        delta = _object(payload.get("delta"), kind, "delta")
        delta_type = delta.get("type")
        if delta_type == "text_delta" and block == "text":
            return ChunkUpdate(content=_string(delta.get("text"), kind, "delta.text"))
        if delta_type == "input_json_delta" and block == "tool_use":
            fragment = _string(delta.get("partial_json"), kind, "delta.partial_json")
            if fragment:
                self._tools[index].sent = True
            return ChunkUpdate(tool_calls=(ToolCallDelta(index, None, None, fragment),))
        if delta_type == "thinking_delta" and block == "thinking":
            return ChunkUpdate(reasoning=_string(delta.get("thinking"), kind, "delta.thinking"))
        return _EMPTY  # signature_delta, citations_delta, a server tool's input, later types

    def _block_start(self, payload: dict[str, Any]) -> ChunkUpdate:
        kind = "content_block_start"
        index = self._index(payload, kind)
        content = _object(payload.get("content_block"), kind, "content_block")
        block_type = content.get("type")
        block = _BLOCK_KINDS.get(block_type, "other") if isinstance(block_type, str) else "other"
        self._blocks[index] = block
        if block == "text":
            text = _string(content.get("text", ""), kind, "content_block.text")
            return ChunkUpdate(content=text) if text else _EMPTY
        if block == "thinking":
            text = _string(content.get("thinking", ""), kind, "content_block.thinking")
            return ChunkUpdate(reasoning=text) if text else _EMPTY
        if block != "tool_use":
            return _EMPTY
        call_id = _string(content.get("id"), kind, "content_block.id")
        name = _string(content.get("name"), kind, "content_block.name")
        start_input = content.get("input")
        if start_input is not None and not isinstance(start_input, dict):
            raise _malformed(
                f"Anthropic event {kind}", "content_block.input", start_input, "an object"
            )
        self._tools[index] = _ToolBlock(json.dumps(start_input or {}, ensure_ascii=False))
        return ChunkUpdate(tool_calls=(ToolCallDelta(index, call_id or None, name or None, ""),))

    def _block_stop(self, payload: dict[str, Any]) -> ChunkUpdate:
        index = self._index(payload, "content_block_stop")
        tool = self._tools.get(index)
        if tool is None:
            return _EMPTY
        if tool.sent:
            return ChunkUpdate(calls_done=(index,))
        # Only "" came (a tool without arguments): the input is the one content_block_start gave.
        tool.sent = True
        return ChunkUpdate(
            tool_calls=(ToolCallDelta(index, None, None, tool.start_input),), calls_done=(index,)
        )

    def _message_delta(self, payload: dict[str, Any]) -> ChunkUpdate:
        kind = "message_delta"
        delta = _object(payload.get("delta"), kind, "delta")
        reason = delta.get("stop_reason")
        if reason is not None and not isinstance(reason, str):
            raise _malformed(
                f"Anthropic event {kind}", "delta.stop_reason", reason, "a string or null"
            )
        refusal = None
        if reason == "refusal":
            details = delta.get("stop_details")
            explanation = details.get("explanation") if isinstance(details, dict) else None
            refusal = explanation if isinstance(explanation, str) and explanation else None
        usage = self._usage(payload.get("usage"), kind, "usage")
        return ChunkUpdate(finish_reason=reason, refusal=refusal, usage=usage)

    def _usage(self, raw: object, kind: str, path: str) -> Usage | None:
        # Usage is bookkeeping, not output: an odd usage object is skipped rather than fatal.
        if not isinstance(raw, dict):
            return None
        seen = False
        for position, field in enumerate(_INPUT_FIELDS):
            count = _count(raw.get(field))
            if count is not None:
                # Each count is cumulative; a message_delta may repeat some and not others.
                self._input_counts[position] = count
                seen = True
        completion = _count(raw.get("output_tokens"))
        if completion is None and not seen:
            return None
        prompt = sum(self._input_counts)
        completion = completion or 0
        return Usage(prompt, completion, prompt + completion)

    @staticmethod
    def _index(payload: dict[str, Any], kind: str) -> int:
        index = payload.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise _malformed(f"Anthropic event {kind}", "index", index, "an integer")
        return index


_INPUT_FIELDS: Final = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _error_info(payload: dict[str, Any]) -> APIErrorInfo:
    # {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}; a body
    # without the wrapper is read as the error itself.
    error = payload.get("error")
    body = error if isinstance(error, dict) else payload
    kind = body.get("type")
    kind = kind if isinstance(kind, str) and kind != "error" else None
    return APIErrorInfo(
        message=_error_message(body) or "the server reported an error without a message",
        code=None,
        type=kind,
        body=body,
        status=_ERROR_STATUS.get(kind) if kind is not None else None,
    )


def _object(value: object, kind: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(f"Anthropic event {kind}", path, value, "an object")
    return value


def _string(value: object, kind: str, path: str) -> str:
    if not isinstance(value, str):
        raise _malformed(f"Anthropic event {kind}", path, value, "a string")
    return value
