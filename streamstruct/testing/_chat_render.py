"""The chat-completions renderer: abstract answer events -> ``chat.completion.chunk`` SSE events.

One renderer per wire format turns the planner's events (:mod:`._answer`) into bytes; this is the
OpenAI chat-completions one, byte for byte as the API sends them (recorded in
``/work/shared/reference/wire-formats.md`` and the tests' recordings).
"""

from __future__ import annotations

import json
import random
import string
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
    _UsageReport,
)
from ._ask import _Ask
from ._script import LineEnding

__all__ = ["_ChatRenderer", "_dump", "_random_text"]

# The first delta of each channel, as the API opens the assistant's turn.
_OPENINGS: Final[dict[str, dict[str, Any]]] = {
    "content": {"role": "assistant", "content": "", "refusal": None},
    "tools": {"role": "assistant", "content": None},
    "refusal": {"role": "assistant", "content": None, "refusal": ""},
}


class _ChatRenderer:
    """Renders one answer's events; obfuscation padding is drawn from ``ids`` as it goes."""

    def __init__(
        self, ask: _Ask, identity: _Identity, ids: random.Random, line_ending: LineEnding
    ) -> None:
        self._ask = ask
        self._identity = identity
        self._ids = ids
        self._line_ending = line_ending

    def event(self, event: _Event) -> bytes:
        if isinstance(event, _Done):
            return self._sse("[DONE]")
        if isinstance(event, _Failed):
            error = event.error
            body = {"message": error.message, "type": error.type, "param": error.param}
            return self._sse(_dump({"error": {**body, "code": error.code}}))
        if isinstance(event, _UsageReport):
            return self._sse(_dump(self._chunk([], _usage(event.usage))))
        reason = event.reason if isinstance(event, _Finished) else None
        choice = {"index": 0, "delta": _delta(event), "logprobs": None, "finish_reason": reason}
        return self._sse(_dump(self._chunk([choice])))

    def keep_alive(self) -> bytes:
        return f": keep-alive{self._line_ending}{self._line_ending}".encode()

    def whole(self, said: _Said, usage: _Usage) -> bytes:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": said.content,
            "refusal": said.refusal,
            "annotations": [],
        }
        if said.calls:
            function = {"name": self._ask.tool_name}
            message["tool_calls"] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {**function, "arguments": call.arguments},
                }
                for call in said.calls
            ]
        choice = {"index": 0, "message": message, "logprobs": None}
        body = {
            "id": f"chatcmpl-{self._identity.id_text}",
            "object": "chat.completion",
            "created": self._identity.created,
            "model": self._ask.model,
            "choices": [{**choice, "finish_reason": said.finish_reason}],
            "usage": _usage(usage),
            "service_tier": "default",
            "system_fingerprint": self._identity.fingerprint,
        }
        return json.dumps(body, ensure_ascii=False).encode()

    def _chunk(self, choices: list[dict[str, Any]], usage: object = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{self._identity.id_text}",
            "object": "chat.completion.chunk",
            "created": self._identity.created,
            "model": self._ask.model,
            "service_tier": "default",
            "system_fingerprint": self._identity.fingerprint,
            "choices": choices,
        }
        if self._ask.include_usage:
            payload["usage"] = usage
        if self._ask.include_obfuscation and choices:
            payload["obfuscation"] = _random_text(self._ids, self._ids.randint(2, 12))
        return payload

    def _sse(self, data: str) -> bytes:
        return f"data: {data}{self._line_ending}{self._line_ending}".encode()


def _delta(event: _Event) -> dict[str, Any]:
    """The ``delta`` of a choice for an opening, a text piece, a tool call or the finish."""
    if isinstance(event, _Opening):
        return dict(_OPENINGS[event.channel])
    if isinstance(event, _TextDelta):
        return {event.channel: event.text}
    if isinstance(event, _ToolCallOpened):
        function = {"name": event.name, "arguments": ""}
        opened = {"index": event.index, "id": event.call_id, "type": "function"}
        return {"tool_calls": [{**opened, "function": function}]}
    if isinstance(event, _ArgumentsDelta):
        return {"tool_calls": [{"index": event.index, "function": {"arguments": event.text}}]}
    return {}  # the finish chunk's delta


def _usage(usage: _Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _dump(value: object) -> str:
    """Compact JSON, as the API writes it; non-ASCII stays raw UTF-8 on the wire."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_ID_ALPHABET: Final = string.ascii_letters + string.digits


def _random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(length))
