"""Chat-completion payloads → typed updates: the one place that knows the wire shapes.

Sans-I/O: the stream layer decodes each SSE event's data with ``json.loads`` and hands the result
to :meth:`ChunkDecoder.decode` (most events skip ``json.loads``: see
:meth:`ChunkDecoder.decode_data`); a non-streaming response body goes to :func:`parse_completion`.
Both return a :class:`ChunkUpdate`, so the layer above has one code path for both. The update
vocabulary and :func:`status_error` live in :mod:`streamstruct._core._updates`, shared with the other
dialects' decoders; they are re-exported here for the modules that read chat chunks.

What is normalised here, and why (the servers are catalogued in the project's wire-format notes):

- Only choice index 0 is followed. ``n > 1`` is not supported for structured output: chunks for
  other choice indexes are ignored, so interleaved choices never mix into one JSON text.
- A chunk with empty ``choices`` (Azure's first ``prompt_filter_results`` chunk, every
  ``include_usage`` chunk) contributes only its usage. Usage is read from any chunk: OpenAI sends
  a separate ``choices: []`` chunk, DeepSeek/Groq/Mistral put it on the finish chunk, Groq also
  under ``x_groq.usage``.
- ``null`` and absent mean the same ("nothing new"); unknown fields are ignored. A chunk whose
  JSON is valid but whose shape is wrong (``choices`` not a list, ``delta`` not an object, ...)
  raises :class:`~streamstruct.MalformedChunkError` naming the path, what came and what was expected.
- In-band errors are recognised before anything else: OpenAI's ``{"error": {...}}``, OpenRouter's
  top-level ``error`` next to ``choices`` (with ``finish_reason: "error"``), vLLM/Mistral flat
  bodies (``{"object": "error", ...}``) and any payload of an SSE event named ``error``. They are
  returned as :class:`APIErrorInfo`, never raised here, so the stream layer can attach the partial
  result before raising :meth:`APIErrorInfo.to_exception`.
- Text may arrive as a list of typed content parts; text parts are joined, the rest skipped.
  Reasoning side channels (``reasoning_content``, ``reasoning``) are reported apart: they are not
  part of the structured output. The legacy ``delta.function_call`` is ignored: streamstruct never
  sends ``functions``.

Tool calls. The layer above keeps one JSON parser per :attr:`ToolCallDelta.key`; this module only
decides which call each fragment belongs to. The rules, in order:

1. An entry with an ``index`` belongs to the call currently at that index. The first call seen at
   an index is keyed by the index itself (an ``int``). If a later entry at the same index carries a
   *different* non-empty ``id`` than the call there, it is a new call (Ollama, SGLang and LiteLLM's
   ``ollama_chat`` reuse index 0 for every call of a parallel turn) and it is keyed by its ``id``
   (a ``str``); later index-only fragments at that index then go to the new call.
2. An entry without an ``index`` but with a non-empty ``id`` (Mistral) belongs to the call with
   that id, or starts one keyed by the id.
3. An entry with neither (or only ``id: ""``) continues the last call seen; before any call it
   starts the call at index 0.

``id: ""`` (Alibaba/Qwen continuations) and ``name: ""`` (LM Studio continuations) are reported as
``None``. A non-empty ``id``/``name`` is reported every time it is sent (LiteLLM repeats the id on
every fragment): consumers keep the first value and never concatenate. ``arguments`` sent as a JSON
object (llama.cpp) are serialised with ``json.dumps``; a whole call may arrive in one fragment
(Groq, Mistral, xAI, Ollama). Indexes are keys, never list positions (a proxy starts at index 1).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal, TypeAlias, final

from ._envelope import ENVELOPE_TRIES, Envelope, learn_envelope
from ._updates import (
    APIErrorInfo,
    ChunkUpdate,
    ToolCallDelta,
    ToolCallKey,
    Usage,
    error_info,
    malformed,
    status_error,
    usage_counts,
)

__all__ = [
    "APIErrorInfo",
    "ChunkDecoder",
    "ChunkUpdate",
    "ToolCallDelta",
    "ToolCallKey",
    "Usage",
    "parse_completion",
    "status_error",
]

_EMPTY: Final = ChunkUpdate()

# The delta keys of the common chunks ChunkDecoder decodes on its fast path.
_COMMON_DELTA_KEYS: Final = frozenset({"content", "tool_calls", "role"})


@final
class ChunkDecoder:
    """Decodes the chunks of one stream, in order. Keeps only the tool-call bookkeeping.

    One decoder per response: the tool-call keys of a fragment depend on the fragments before it.
    """

    __slots__ = ("_by_id", "_by_index", "_envelope", "_envelope_tries", "_last_key")

    def __init__(self) -> None:
        # index -> (key, id) of the call currently at that index
        self._by_index: dict[int, tuple[ToolCallKey, str | None]] = {}
        # id -> key, so an id-only fragment (Mistral) finds the call an indexed fragment started
        self._by_id: dict[str, ToolCallKey] = {}
        self._last_key: ToolCallKey | None = None
        # The envelope of the last common chunk, to decode the next ones without json.loads (see
        # decode_data), and how many were learnt in a row without being used since.
        self._envelope: Envelope | None = None
        self._envelope_tries = 0

    def decode(self, chunk: object, *, event: str | None = None) -> ChunkUpdate:
        """Decode one chunk: the ``json.loads`` of an SSE event's data.

        ``event`` is the SSE event name, when there was one: a payload sent as ``event: error`` is
        an error whatever its shape. Raises :class:`~streamstruct.MalformedChunkError` for a malformed chunk.
        """
        text = self.decode_text(chunk, event)
        if text is not None:
            key, fragment = text
            if key is None:
                return ChunkUpdate(content=fragment)
            return ChunkUpdate(tool_calls=(ToolCallDelta(key, None, None, fragment),))
        return self.decode_other(chunk, event=event)

    def decode_other(self, chunk: object, *, event: str | None = None) -> ChunkUpdate:
        """:meth:`decode` for a chunk that :meth:`decode_text` did not take."""
        if not isinstance(chunk, dict):
            raise malformed("chunk", "the chunk", chunk, "an object")
        error = _find_error(chunk, event=event)
        usage = _usage(chunk)
        if error is not None:
            # The rest of an error chunk (OpenRouter's finish_reason "error", an empty delta)
            # says nothing the error does not, and may be as broken as whatever failed.
            return ChunkUpdate(error=error, usage=usage)
        choice = _choice_zero(chunk, "chunk")
        if choice is None:
            return _EMPTY if usage is None else ChunkUpdate(usage=usage)
        delta = _object_or_empty(choice.get("delta"), "chunk", "choices[0].delta")
        return ChunkUpdate(
            content=_text(delta.get("content"), "chunk", "choices[0].delta.content"),
            refusal=_string(delta.get("refusal"), "chunk", "choices[0].delta.refusal"),
            reasoning=_reasoning(delta),
            tool_calls=self._tool_calls(delta.get("tool_calls")),
            finish_reason=_string(choice.get("finish_reason"), "chunk", "choices[0].finish_reason"),
            usage=usage,
        )

    def decode_text(
        self, chunk: object, event: str | None = None
    ) -> tuple[ToolCallKey | None, str] | None:
        """What a chunk in one of the two shapes nearly every event of a stream has adds: a piece
        of ``content`` as ``(None, text)``, or of a tool call's arguments as ``(key, text)``; None
        for any other chunk, which :meth:`decode_other` then takes (:meth:`decode` does both).

        The shapes: one choice, index 0 (or none), no usage, no error, ``finish_reason`` null, and
        a ``delta`` that holds at most ``content`` (a string) and ``tool_calls`` (one fragment with
        an integer index, no id, no name and string arguments), besides the ignored ``role``.
        Everything else (first and last chunks, errors, odd shapes) goes the careful way, which
        gives the same update. Checking exact types and a few keys costs about a third of the
        careful path's per-field validation (6.1 -> 2.0 us per tool-call chunk, measured), and a
        tuple instead of a ChunkUpdate saves 0.8 us more (7 fields set on a frozen object).
        """
        shape = _text_shape(chunk, event)
        if shape is None:
            return None
        index, text = shape
        return (None if index is None else self._key(index, None)), text

    def decode_data(self, data: str, event: str | None) -> tuple[ToolCallKey | None, str] | None:
        """:meth:`decode_text` of ``json.loads(data)``, without ``json.loads``, for an event whose
        data is the envelope of an earlier common chunk (:meth:`learn`) around a new string; None
        for any other data, which the caller then decodes the ordinary way.

        The servers send every piece of a stream in the same envelope (id, model, the choice and
        the delta's keys), only the string (and OpenAI's ``obfuscation`` padding) changes. Data
        in the learnt envelope (:class:`~._envelope.Envelope`, shared with the Responses and
        Anthropic decoders) is, token for token, the learnt chunk with another string in it, so
        ``json.loads`` and :meth:`decode_text` would give that string with the learnt chunk's
        call: the string alone is decoded. Measured through the benchmarks' server at 100 KB
        (burst, interleaved with the floor), it saves about 4-6 us per event in either build, of ~26
        compiled and ~41 pure: ``json.loads`` of a 300-byte envelope and the checks of
        :meth:`decode_text`.
        """
        envelope = self._envelope
        if envelope is None:
            return None
        text = envelope.text_of(data, event)
        if text is None:
            return None
        self._envelope_tries = 0
        index = envelope.index
        return (None if index is None else self._key(index, None)), text

    def learn(self, data: str, event: str | None, chunk: object) -> None:
        """Keep the envelope of ``data`` (``chunk`` is its ``json.loads``) for :meth:`decode_data`
        when it is a common chunk: its holes the content or arguments string and the top level's
        ``obfuscation`` padding, proved by a probe (:func:`~._envelope.learn_envelope`). Given up
        for the stream after a few envelopes in a row that no chunk reused (a server that varies
        each one): they cost a ``json.loads`` each.
        """
        self._envelope = None
        if self._envelope_tries >= ENVELOPE_TRIES:
            return  # given up: not even the shape is checked again
        shape = _text_shape(chunk, event)
        if shape is None or type(chunk) is not dict:
            return
        self._envelope_tries += 1
        index = shape[0]
        path = _CONTENT_PATH if index is None else _ARGUMENTS_PATH
        self._envelope = learn_envelope(
            data, event, chunk, path, index=index, paddings=("obfuscation",)
        )

    def _tool_calls(self, value: object) -> tuple[ToolCallDelta, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise malformed("chunk", "choices[0].delta.tool_calls", value, "a list")
        deltas = []
        for position, entry in enumerate(value):
            path = f"choices[0].delta.tool_calls[{position}]"
            call_id, name, arguments, index = _tool_call_fields(entry, "chunk", path)
            deltas.append(
                ToolCallDelta(
                    key=self._key(index, call_id), id=call_id, name=name, arguments=arguments
                )
            )
        return tuple(deltas)

    def _key(self, index: int | None, call_id: str | None) -> ToolCallKey:
        # The rules are spelled out in the module docstring; this follows them in order.
        key: ToolCallKey
        if index is not None:
            current = self._by_index.get(index)
            if current is None:
                key = index if call_id is None else self._by_id.get(call_id, index)
                self._by_index[index] = (key, call_id)
            else:
                key, current_id = current
                if call_id is not None and current_id is not None and call_id != current_id:
                    key = self._by_id.get(call_id, call_id)
                    self._by_index[index] = (key, call_id)
                elif current_id is None and call_id is not None:
                    self._by_index[index] = (key, call_id)
        elif call_id is not None:
            key = self._by_id.get(call_id, call_id)
        elif self._last_key is not None:
            key = self._last_key
        else:
            key = 0
            self._by_index[0] = (0, None)
        if call_id is not None:
            self._by_id.setdefault(call_id, key)
        self._last_key = key
        return key


# Where a common chunk's string is (learn_envelope's text path), for content and for arguments.
_CONTENT_PATH: Final = ("choices", 0, "delta", "content")
_ARGUMENTS_PATH: Final = ("choices", 0, "delta", "tool_calls", 0, "function", "arguments")


def _text_shape(chunk: object, event: str | None) -> tuple[int | None, str] | None:
    """:meth:`ChunkDecoder.decode_text` without the tool-call bookkeeping: ``(None, content)`` or
    ``(call index, arguments)`` for a chunk of one of the two common shapes, else None."""
    delta = _common_delta(chunk, event)
    if delta is None:
        return None
    content = delta.get("content")
    calls = delta.get("tool_calls")
    if calls is None:
        if type(content) is not str:
            return None
        return None, content
    if content is not None:
        return None
    return _arguments_fragment(calls)


def _common_delta(chunk: object, event: str | None) -> dict[str, Any] | None:
    """The ``delta`` of a common chunk's envelope: one choice, index 0, no finish reason, usage or
    error, and only the delta keys of the fast path; else None."""
    if type(chunk) is not dict or event == "error":
        return None
    choices = chunk.get("choices")
    if (
        type(choices) is not list
        or len(choices) != 1
        or chunk.get("usage") is not None
        or chunk.get("error")
        or chunk.get("object") == "error"
        or "x_groq" in chunk
    ):
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    index = choice.get("index")
    delta = choice.get("delta")
    if (index is not None and (type(index) is not int or index != 0)) or type(delta) is not dict:
        return None
    if not _COMMON_DELTA_KEYS.issuperset(delta):
        return None
    return delta


def _arguments_fragment(calls: object) -> tuple[int, str] | None:
    """``(call index, arguments)`` when ``calls`` is one index-only fragment of a call's
    arguments (no id, no name), else None."""
    if type(calls) is not list or len(calls) != 1:
        return None
    entry = calls[0]
    if type(entry) is not dict or entry.get("id") is not None:
        return None
    function = entry.get("function")
    call_index = entry.get("index")
    if type(function) is not dict or type(call_index) is not int:
        return None
    arguments = function.get("arguments")
    if type(arguments) is not str or function.get("name") is not None:
        return None
    return call_index, arguments


def parse_completion(body: object) -> ChunkUpdate:
    """Parse a non-streaming ``chat.completion`` body into the same shape a stream chunk has.

    The whole answer is in the one update: ``content``, ``refusal``, every tool call complete
    (keyed by its position in ``message.tool_calls``, since there are no fragments to match), the
    ``finish_reason`` and the usage. An error body sent with status 200 gives ``error``.
    """
    if not isinstance(body, dict):
        raise malformed("response", "the body", body, "an object")
    error = _find_error(body, event=None)
    usage = _usage(body)
    if error is not None:
        return ChunkUpdate(error=error, usage=usage)
    choice = _choice_zero(body, "response")
    if choice is None:
        return ChunkUpdate(usage=usage)
    message = _object_or_empty(choice.get("message"), "response", "choices[0].message")
    raw_calls = message.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise malformed("response", "choices[0].message.tool_calls", raw_calls, "a list")
    calls = []
    for position, entry in enumerate(raw_calls or ()):
        path = f"choices[0].message.tool_calls[{position}]"
        call_id, name, arguments, _ = _tool_call_fields(entry, "response", path)
        calls.append(ToolCallDelta(key=position, id=call_id, name=name, arguments=arguments))
    return ChunkUpdate(
        content=_text(message.get("content"), "response", "choices[0].message.content"),
        refusal=_string(message.get("refusal"), "response", "choices[0].message.refusal"),
        reasoning=_reasoning(message),
        tool_calls=tuple(calls),
        finish_reason=_string(choice.get("finish_reason"), "response", "choices[0].finish_reason"),
        usage=usage,
    )


# -- helpers -----------------------------------------------------------------------------------

_What: TypeAlias = Literal["chunk", "response"]


def _find_error(payload: dict[str, Any], *, event: str | None) -> APIErrorInfo | None:
    error = payload.get("error")
    if error:
        # OpenAI, OpenRouter, llama.cpp, Groq, vLLM (wrapped), Anthropic: a truthy "error" key,
        # which openai-python also treats as an error whatever else the payload holds.
        return error_info(error)
    if payload.get("object") == "error" or event == "error":
        # vLLM's and Mistral's flat body, or any payload of an `event: error` SSE event.
        return error_info(payload)
    return None


def _usage(payload: dict[str, Any]) -> Usage | None:
    raw = payload.get("usage")
    if raw is None:
        x_groq = payload.get("x_groq")
        raw = x_groq.get("usage") if isinstance(x_groq, dict) else None
    return usage_counts(raw, "prompt_tokens", "completion_tokens")


def _choice_zero(payload: dict[str, Any], what: _What) -> dict[str, Any] | None:
    choices = payload.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise malformed(what, "choices", choices, "a list")
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise malformed(what, f"choices[{position}]", choice, "an object")
        index = choice.get("index")
        if index is None:  # a choice without an index is choice 0 (nobody sends n>1 that way)
            return choice
        if not isinstance(index, int) or isinstance(index, bool):
            raise malformed(what, f"choices[{position}].index", index, "an integer")
        if index == 0:
            return choice
    return None


def _object_or_empty(value: object, what: _What, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise malformed(what, path, value, "an object")
    return value


def _string(value: object, what: _What, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise malformed(what, path, value, "a string or null")


def _text(value: object, what: _What, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        # The message-content shape ([{"type": "text", "text": ...}, ...]) that some servers use
        # for replies too; non-text parts (e.g. "thinking") are not the answer.
        texts = [
            part["text"]
            for part in value
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ]
        return "".join(texts) if texts else None
    raise malformed(what, path, value, "a string, a list of content parts or null")


def _reasoning(delta: dict[str, Any]) -> str | None:
    # DeepSeek/xAI/LM Studio/SGLang/old vLLM say "reasoning_content", vLLM/Ollama/OpenRouter/Cerebras
    # "reasoning". Never fatal: it is a side channel, not the structured output.
    for field in ("reasoning_content", "reasoning"):
        value = delta.get(field)
        if isinstance(value, str):
            return value
    return None


def _tool_call_fields(
    entry: object, what: _What, path: str
) -> tuple[str | None, str | None, str, int | None]:
    """(id, name, arguments, index) of one tool-call entry, normalised as the module doc says."""
    if not isinstance(entry, dict):
        raise malformed(what, path, entry, "an object")
    index = entry.get("index")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
        raise malformed(what, f"{path}.index", index, "an integer")
    call_id = _string(entry.get("id"), what, f"{path}.id") or None
    function = _object_or_empty(entry.get("function"), what, f"{path}.function")
    name = _string(function.get("name"), what, f"{path}.function.name") or None
    raw = function.get("arguments")
    if raw is None:
        arguments = ""
    elif isinstance(raw, str):
        arguments = raw
    elif isinstance(raw, (dict, list)):
        # llama.cpp #20198 sent the arguments as an object; it only ever comes whole.
        arguments = json.dumps(raw, ensure_ascii=False)
    else:
        raise malformed(what, f"{path}.function.arguments", raw, "a string or an object")
    return call_id, name, arguments, index
