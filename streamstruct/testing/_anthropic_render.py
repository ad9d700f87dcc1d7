"""The Anthropic Messages renderer: abstract answer events -> ``message_start`` ... ``stop``.

The planner's events (:mod:`._answer`) written as Anthropic's Messages API streams them, with the
event shapes of :mod:`._dialects` (checked against the official ``anthropic`` package's types):
``message_start`` (input tokens) and a ``ping`` open the stream; a content answer is one ``text``
block of ``text_delta`` events; each tool call a ``tool_use`` block (``toolu_`` id, an empty
first ``input_json_delta`` as recorded, then the arguments in ``partial_json`` pieces); the finish
closes the open block and sends ``message_delta`` with the stop reason and output tokens; the
terminator is ``message_stop`` (dropped by a ``MissingDone`` fault); a late failure is an
``event: error`` with Anthropic's error type, after which the stream ends.

Stop reasons: ``stop`` -> ``end_turn`` (``tool_use`` when the answer is tool calls, ``tool_calls``
too), ``length`` -> ``max_tokens`` (the cut tool block gets no ``content_block_stop``, as
recorded), ``content_filter`` -> ``refusal`` (Anthropic has no filter reason); any other reason a
reply scripts is sent as it is. A refusal's text is never streamed: it is the ``refusal`` stop
reason's ``stop_details.explanation``, so its text deltas render as nothing (a fault placed after
them falls at the refusal's end).
"""

from __future__ import annotations

import json
import random
from typing import Any, Final

from ._answer import (
    _ArgumentsDelta,
    _Done,
    _Event,
    _Failed,
    _Finished,
    _Identity,
    _Opening,
    _Said,
    _TextDelta,
    _ToolCallOpened,
    _Usage,
)
from ._ask import _Ask
from ._chat_render import _dump
from ._dialects import _anthropic_type
from ._script import LineEnding

__all__ = ["_AnthropicRenderer", "_stop_reason"]

_STOP_REASONS: Final = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}


def _stop_reason(reason: str, *, calls: bool, refusal: bool) -> str:
    """Anthropic's stop reason for the planner's finish reason."""
    if refusal:
        return "refusal"
    if calls and reason in ("stop", "tool_calls"):
        return "tool_use"
    return _STOP_REASONS.get(reason, reason)


class _AnthropicRenderer:
    """Renders one answer's events as an Anthropic Messages stream."""

    def __init__(
        self,
        ask: _Ask,
        identity: _Identity,
        ids: random.Random,
        line_ending: LineEnding,
        usage: _Usage,
    ) -> None:
        del ids  # the ids derive from the identity's text, drawn from the same generator
        self._ask = ask
        self._message_id = f"msg_{identity.id_text[:24]}"
        self._line_ending = line_ending
        self._usage = usage
        self._started = False
        self._block: tuple[int, str] | None = None  # (index, type) of the open block
        self._blocks = 0
        self._calls = False
        self._refusal: list[str] | None = None
        self._out: list[bytes] = []

    def event(self, event: _Event) -> bytes:
        self._out = []
        if not self._started:
            self._started = True
            self._emit("message_start", message=self._message([], self._start_usage()))
            self._emit("ping")
        if isinstance(event, _Opening) and event.channel != "tools":
            # A refusal keeps an empty text block (recorded): its words come with the stop.
            self._refusal = [] if event.channel == "refusal" else None
            self._open_block({"type": "text", "text": ""})
        elif isinstance(event, _TextDelta):
            if self._refusal is not None:
                self._refusal.append(event.text)
            else:
                self._block_delta({"type": "text_delta", "text": event.text})
        elif isinstance(event, _ToolCallOpened):
            self._close_block()
            self._calls = True
            block = {"type": "tool_use", "id": _tool_use_id(event.call_id), "name": event.name}
            self._open_block({**block, "input": {}})
            self._block_delta({"type": "input_json_delta", "partial_json": ""})
        elif isinstance(event, _ArgumentsDelta):
            self._block_delta({"type": "input_json_delta", "partial_json": event.text})
        elif isinstance(event, _Finished):
            self._finish(event.reason)
        elif isinstance(event, _Failed):
            error = {"type": _anthropic_type(event.error.type), "message": event.error.message}
            self._emit("error", error=error)
        elif isinstance(event, _Done):
            self._emit("message_stop")
        return b"".join(self._out)

    def keep_alive(self) -> bytes:
        # Anthropic keeps an idle stream open with ping events, not comments.
        self._out = []
        self._emit("ping")
        return b"".join(self._out)

    def whole(self, said: _Said, usage: _Usage) -> bytes:
        """The ``Message`` object of a non-streamed request (``stream`` false or absent)."""
        content: list[dict[str, Any]] = [
            {
                "type": "tool_use",
                "id": _tool_use_id(call.call_id),
                "name": self._ask.tool_name or "",
                "input": _input(call.arguments),
            }
            for call in said.calls
        ]
        if not said.calls:
            content.append({"type": "text", "text": said.content or ""})
        stop = _stop_reason(
            said.finish_reason, calls=bool(said.calls), refusal=said.refusal is not None
        )
        message = self._message(content, self._final_usage(usage.prompt_tokens))
        message["stop_reason"] = stop
        if said.refusal is not None:
            message["stop_details"] = _refusal_details(said.refusal)
        return json.dumps(message, ensure_ascii=False).encode()

    # -- the pieces of the stream ---------------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> None:
        end = self._line_ending
        data = _dump({"type": kind, **fields})
        self._out.append(f"event: {kind}{end}data: {data}{end}{end}".encode())

    def _message(self, content: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
        return {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._ask.model,
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }

    def _start_usage(self) -> dict[str, int]:
        return {**self._final_usage(self._usage.prompt_tokens), "output_tokens": 1}

    def _final_usage(self, prompt_tokens: int) -> dict[str, int]:
        return {
            "input_tokens": prompt_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": self._usage.completion_tokens,
        }

    def _open_block(self, block: dict[str, Any]) -> None:
        index = self._blocks
        self._blocks += 1
        self._block = (index, str(block["type"]))
        self._emit("content_block_start", index=index, content_block=block)

    def _block_delta(self, delta: dict[str, Any]) -> None:
        if self._block is not None:
            self._emit("content_block_delta", index=self._block[0], delta=delta)

    def _close_block(self) -> None:
        if self._block is not None:
            self._emit("content_block_stop", index=self._block[0])
            self._block = None

    def _finish(self, reason: str) -> None:
        refusal = self._refusal is not None
        stop = _stop_reason(reason, calls=self._calls, refusal=refusal)
        if not (stop == "max_tokens" and self._block is not None and self._block[1] == "tool_use"):
            self._close_block()  # on max_tokens the cut tool block is left open (recorded)
        delta: dict[str, Any] = {"stop_reason": stop, "stop_sequence": None}
        if self._refusal is not None:
            delta["stop_details"] = _refusal_details("".join(self._refusal))
        usage = {"output_tokens": self._usage.completion_tokens}
        self._emit("message_delta", delta=delta, usage=usage)


def _tool_use_id(call_id: str) -> str:
    return f"toolu_{call_id.removeprefix('call_')}"


def _refusal_details(explanation: str) -> dict[str, Any]:
    return {"type": "refusal", "category": None, "explanation": explanation}


def _input(arguments: str) -> object:
    """A tool call's ``input`` object (a cut, unparseable text gives ``{}``)."""
    try:
        return json.loads(arguments)
    except ValueError:
        return {}
