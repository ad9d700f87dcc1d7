"""OpenAI Responses API stream events → the same typed updates as chat chunks (sans-I/O).

``POST /responses`` with ``stream: true`` sends one SSE event per step, its ``event:`` name equal to
the ``type`` in its data, and no ``[DONE]``: the stream ends with ``response.completed``,
``response.incomplete`` or ``response.failed``. :class:`ResponsesDecoder` turns each event (the
``json.loads`` of its data) into the :class:`~streamstruct._core._wire.ChunkUpdate` the chat decoder
gives, so the layer above reads both alike. The events, their fields and where each was checked
are listed in docs/dialects.md.

What each event becomes:

- ``response.output_text.delta``: ``content`` (the JSON text in the json_schema/json modes),
  except in a message item whose ``phase`` is ``"commentary"``: the preamble newer models write
  before calling tools (openai-python ``ResponseOutputMessage.phase``; vercel/ai fixture
  ``openai-phase.1``) is not the answer, and is reported as ``reasoning``.
- ``response.refusal.delta``: ``refusal``; a refusal content part announces itself as ``""``.
- ``response.output_item.added`` of a ``function_call`` item: a tool-call fragment with its
  ``call_id`` and ``name`` (and any arguments the item already holds);
  ``response.function_call_arguments.delta``: the next piece of its arguments;
  ``response.function_call_arguments.done`` (or the item's ``response.output_item.done``): the
  call is complete (``calls_done``), its arguments sent whole if no delta carried them.
- ``response.reasoning_summary_text.delta`` and ``response.reasoning_text.delta``: ``reasoning``,
  kept apart from the JSON.
- ``response.completed``: ``usage`` and the ``finish_reason`` ``"completed"`` (the response's
  status). ``response.incomplete``: ``usage`` and the ``finish_reason``
  ``incomplete_details.reason`` as sent (``"max_output_tokens"``, ``"content_filter"``), or the
  status ``"incomplete"`` when no reason came.
- ``response.failed`` (its ``response.error``) and ``error`` events: ``error``, an
  :class:`~streamstruct._core._wire.APIErrorInfo` whose status follows its code (``rate_limit_exceeded``
  and ``insufficient_quota`` 429, ``server_error`` 500, ...).
- Every other event (``response.created``, ``response.in_progress``, content parts, ``*.done``
  events, annotations, hosted-tool progress, event types added later) adds nothing.

Tool calls are keyed by ``output_index``, the item's position in the response: a GitHub Copilot
proxy sends a new ``item_id`` on every event (vercel/ai fixture ``github-copilot-id-rotation``),
while the index stays put. An event without an index finds its call by ``item_id``.

A payload that is not an object, or whose fields this module reads have the wrong type, raises
:class:`~streamstruct.MalformedChunkError` (an ``APIError``) naming the event and the path; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any, Final, final

from .._errors import MalformedChunkError
from ._envelope import ENVELOPE_TRIES, Envelope, learn_envelope
from ._updates import APIErrorInfo, ChunkUpdate, ToolCallDelta, ToolCallKey
from ._updates import error_message as _error_message
from ._updates import malformed as _malformed
from ._updates import usage_counts as _usage_counts

__all__ = ["INCOMPLETE_REASONS", "ResponsesDecoder"]

INCOMPLETE_REASONS: Final = frozenset({"max_output_tokens", "content_filter", "incomplete"})
"""Finish reasons that mean the output was cut short: ``incomplete_details.reason`` as sent, or
the status ``"incomplete"`` of a ``response.incomplete`` that gave no reason."""

_EMPTY: Final = ChunkUpdate()

# The status an error code stands for. OpenAI answers rate limits and exhausted quota with HTTP
# 429 and its own failures with 5xx; the codes openai-python's ResponseError lists besides those
# name a problem with the request's content (an image, the prompt): 400. A code not listed here
# gives no status (the error then takes the 200 of the response, as the chat dialect's do).
_ERROR_STATUS: Final[dict[str, int]] = {
    "server_error": 500,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "vector_store_timeout": 500,
    "invalid_prompt": 400,
    "bio_policy": 400,
    "data_residency_mismatch": 400,
    "invalid_image": 400,
    "invalid_image_format": 400,
    "invalid_base64_image": 400,
    "invalid_image_url": 400,
    "image_too_large": 400,
    "image_too_small": 400,
    "image_parse_error": 400,
    "image_content_policy_violation": 400,
    "invalid_image_mode": 400,
    "image_file_too_large": 400,
    "unsupported_image_media_type": 400,
    "empty_image_file": 400,
    "failed_to_download_image": 400,
    "image_file_not_found": 400,
}

_REASONING_DELTAS: Final = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)


@final
class ResponsesDecoder:
    """Decodes the events of one Responses API stream, in order.

    One decoder per response: it remembers which calls exist (to key fragments that carry only an
    ``item_id``), which calls received argument text, and which are complete.
    """

    __slots__ = (
        "_by_item",
        "_commentary",
        "_done",
        "_envelope",
        "_envelope_tries",
        "_with_text",
    )

    def __init__(self) -> None:
        self._by_item: dict[str, ToolCallKey] = {}  # item_id -> key of its call
        self._commentary: set[int] = set()  # output_index of messages with phase "commentary"
        self._with_text: set[ToolCallKey] = set()  # calls some argument text was sent for
        self._done: set[ToolCallKey] = set()  # calls reported in calls_done
        # The envelope of the last text or arguments delta (see decode_data), and how many were
        # learnt in a row without being used since.
        self._envelope: Envelope | None = None
        self._envelope_tries = 0

    def decode_data(self, data: str, event: str | None) -> tuple[ToolCallKey | None, str] | None:
        """What :meth:`decode` of ``json.loads(data)`` gives, as a bare ``(key, text)``, for a
        ``response.output_text.delta`` or ``response.function_call_arguments.delta`` in the
        envelope of an earlier one (:meth:`learn`); None for any other data, which the caller
        then decodes the ordinary way. Skips ``json.loads`` (see :mod:`._envelope`); the state
        is kept as :meth:`decode` keeps it: a text delta of a commentary message goes the
        ordinary way, an arguments delta marks its call as having text.
        """
        envelope = self._envelope
        if envelope is None:
            return None
        text = envelope.text_of(data, event)
        if text is None:
            return None
        key = envelope.key
        if key is None:
            if envelope.index is not None and envelope.index in self._commentary:
                return None  # not the answer: reasoning, which decode says
        elif text:
            self._with_text.add(key)
        self._envelope_tries = 0
        return key, text

    def learn(self, data: str, event: str | None, payload: object) -> None:
        """Keep the envelope of ``data`` (``payload`` is its ``json.loads``, just decoded to
        text or arguments) for :meth:`decode_data`: its holes the ``delta``, the
        ``sequence_number`` and the ``obfuscation`` padding. A function call's is kept only when
        it is keyed by its ``output_index`` (an ``item_id`` key depends on the items before)."""
        self._envelope = None
        if self._envelope_tries >= ENVELOPE_TRIES or type(payload) is not dict:
            return
        kind = payload.get("type")
        index = payload.get("output_index")
        if index is not None and type(index) is not int:
            return
        if kind == "response.output_text.delta":
            key = None
        elif kind == "response.function_call_arguments.delta" and index is not None:
            key = index
        else:
            return
        self._envelope_tries += 1
        self._envelope = learn_envelope(
            data,
            event,
            payload,
            ("delta",),
            key=key,
            index=index,
            counters=("sequence_number",),
            paddings=("obfuscation",),
        )

    def decode(self, payload: object, *, event: str | None = None) -> ChunkUpdate:
        """Decode one event: the ``json.loads`` of its data, and its SSE event name.

        The ``type`` in the data says what the event is (the ``event:`` name when the data has
        none); an SSE event named ``error`` is an error whatever its data says. Raises
        :class:`~streamstruct.MalformedChunkError` for a malformed event.
        """
        if not isinstance(payload, dict):
            raise _malformed(
                f"Responses event {event or ''}".rstrip(), "the data", payload, "an object"
            )
        kind = payload.get("type")
        if not isinstance(kind, str):
            kind = event or ""
        if event == "error" or kind == "error":
            return ChunkUpdate(error=_error_event(payload))
        if kind == "response.output_text.delta":
            text = _text(payload, kind, "delta")
            if self._commentary:
                index = payload.get("output_index")
                if isinstance(index, int) and index in self._commentary:
                    return ChunkUpdate(reasoning=text)
            return ChunkUpdate(content=text)
        if kind == "response.function_call_arguments.delta":
            key = self._key(payload, kind)
            fragment = _text(payload, kind, "delta")
            if fragment:
                self._with_text.add(key)
            return ChunkUpdate(tool_calls=(ToolCallDelta(key, None, None, fragment),))
        if kind in _REASONING_DELTAS:
            return ChunkUpdate(reasoning=_text(payload, kind, "delta"))
        if kind == "response.refusal.delta":
            return ChunkUpdate(refusal=_text(payload, kind, "delta"))
        return self._decode_rare(payload, kind)

    def _decode_rare(self, payload: dict[str, Any], kind: str) -> ChunkUpdate:
        """:meth:`decode` for the events that come once per item or per response."""
        if kind == "response.output_item.added":
            return self._item_added(payload, kind)
        if kind == "response.function_call_arguments.done":
            return self._call_done(self._key(payload, kind), payload, kind, "arguments")
        if kind == "response.output_item.done":
            item = _object(payload.get("item"), kind, "item")
            if item.get("type") != "function_call":
                return _EMPTY
            return self._call_done(self._key(payload, kind), item, kind, "item.arguments")
        if kind == "response.content_part.added":
            part = _object(payload.get("part"), kind, "part")
            return ChunkUpdate(refusal="") if part.get("type") == "refusal" else _EMPTY
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return _final(payload, kind)
        return _EMPTY

    def _item_added(self, payload: dict[str, Any], kind: str) -> ChunkUpdate:
        item = _object(payload.get("item"), kind, "item")
        if item.get("type") == "message" and item.get("phase") == "commentary":
            index = payload.get("output_index")
            if isinstance(index, int):
                self._commentary.add(index)
        if item.get("type") != "function_call":
            return _EMPTY
        key = self._key(payload, kind)
        item_id = _optional_string(item.get("id"), kind, "item.id")
        if item_id:
            self._by_item[item_id] = key
        arguments = _optional_string(item.get("arguments"), kind, "item.arguments") or ""
        if arguments:
            self._with_text.add(key)
        call_id = _optional_string(item.get("call_id"), kind, "item.call_id") or None
        name = _optional_string(item.get("name"), kind, "item.name") or None
        return ChunkUpdate(tool_calls=(ToolCallDelta(key, call_id, name, arguments),))

    def _call_done(
        self, key: ToolCallKey, holder: dict[str, Any], kind: str, path: str
    ) -> ChunkUpdate:
        if key in self._done:
            return _EMPTY  # function_call_arguments.done came first; output_item.done repeats it
        self._done.add(key)
        if key in self._with_text:
            return ChunkUpdate(calls_done=(key,))
        # No delta carried the arguments (a proxy may send them only whole): send them now.
        self._with_text.add(key)
        arguments = _optional_string(holder.get("arguments"), kind, path) or ""
        return ChunkUpdate(
            tool_calls=(ToolCallDelta(key, None, None, arguments),), calls_done=(key,)
        )

    def _key(self, payload: dict[str, Any], kind: str) -> ToolCallKey:
        index = payload.get("output_index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if index is not None:
            raise _malformed(f"Responses event {kind}", "output_index", index, "an integer")
        item_id = payload.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            item = payload.get("item")
            item_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(item_id, str) and item_id:
            return self._by_item.setdefault(item_id, item_id)
        raise MalformedChunkError(
            f"malformed Responses event {kind}: it has neither output_index nor item_id, so "
            "its function call cannot be told apart from the others"
        )


def _final(payload: dict[str, Any], kind: str) -> ChunkUpdate:
    """``response.completed``/``incomplete``/``failed``: the usage, and the end or the error."""
    response = _object(payload.get("response"), kind, "response")
    usage = _usage_counts(response.get("usage"), "input_tokens", "output_tokens")
    if kind == "response.failed":
        error = response.get("error")
        if isinstance(error, dict):
            info = _error_info(error, default="the response failed")
        else:
            info = APIErrorInfo("the response failed", None, None, response)
        return ChunkUpdate(error=info, usage=usage)
    status = _optional_string(response.get("status"), kind, "response.status")
    reason = None
    details = response.get("incomplete_details")
    if isinstance(details, dict):
        reason = _optional_string(details.get("reason"), kind, "response.incomplete_details.reason")
    if kind == "response.incomplete":
        finish = reason or status or "incomplete"
    else:
        finish = status or "completed"
    return ChunkUpdate(finish_reason=finish, usage=usage)


def _error_event(payload: dict[str, Any]) -> APIErrorInfo:
    # openai-python's ResponseErrorEvent is flat ({"type": "error", "code", "message", "param"});
    # the recorded stream in vercel/ai's openai-error.1 fixture nests it under "error". Both.
    error = payload.get("error")
    return _error_info(error if isinstance(error, dict) else payload, default="")


def _error_info(body: dict[str, Any], *, default: str) -> APIErrorInfo:
    code = body.get("code")
    kind = body.get("type")
    status = _ERROR_STATUS.get(code) if isinstance(code, str) else None
    if status is None and isinstance(kind, str):
        status = _ERROR_STATUS.get(kind)
    return APIErrorInfo(
        message=_error_message(body) or default or "the server reported an error without a message",
        code=code if isinstance(code, (int, str)) and not isinstance(code, bool) else None,
        type=kind if isinstance(kind, str) and kind != "error" else None,
        body=body,
        status=status,
    )


def _object(value: object, kind: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(f"Responses event {kind}", path, value, "an object")
    return value


def _text(payload: dict[str, Any], kind: str, field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str):
        raise _malformed(f"Responses event {kind}", field, value, "a string")
    return value


def _optional_string(value: object, kind: str, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _malformed(f"Responses event {kind}", path, value, "a string or null")
