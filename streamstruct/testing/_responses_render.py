"""The Responses API renderer: abstract answer events -> ``response.*`` SSE events.

The planner's events (:mod:`._answer`) are the same for every wire format; this renderer writes
them as the OpenAI Responses API streams them (``event:`` names equal to the data's ``type``, a
``sequence_number`` on every event, no ``[DONE]``), with the event shapes of
:mod:`._dialects` (checked against the official ``openai`` package's types). It keeps the state a
Responses stream needs: the output item being written, the ones finished, the sequence number.

How the abstract events map: the first event of any kind opens the stream (``response.created``,
``response.in_progress``); a content or refusal opening starts a ``message`` item, each tool call
a ``function_call`` item (``output_index`` = its position); the finish closes the open item; the
terminator is ``response.completed``, or ``response.incomplete`` for a cut answer (``length`` ->
``max_output_tokens``, ``content_filter``), so a ``MissingDone`` fault drops that last event; a
late failure is an ``error`` event then ``response.failed``. Usage always rides on the last event
(the API has no ``include_usage`` switch).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
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
from ._chat_render import _dump, _random_text
from ._dialects import _response_object, _responses_usage
from ._script import LineEnding

__all__ = ["_INCOMPLETE_REASONS", "_ResponsesRenderer"]

# A finish reason of the planner that makes the response incomplete, and the API's reason for it.
_INCOMPLETE_REASONS: Final = {
    "length": "max_output_tokens",
    "max_output_tokens": "max_output_tokens",
    "content_filter": "content_filter",
}


@dataclass(slots=True)
class _OpenItem:
    """The output item being streamed: a message (one text or refusal part) or a call."""

    index: int
    item: dict[str, Any]
    part_type: str | None  # "output_text", "refusal", or None for a function call
    pieces: list[str] = field(default_factory=list)


class _ResponsesRenderer:
    """Renders one answer's events as a Responses stream; ids are drawn from ``ids``."""

    def __init__(
        self,
        ask: _Ask,
        identity: _Identity,
        ids: random.Random,
        line_ending: LineEnding,
        usage: _Usage,
    ) -> None:
        self._ask = ask
        self._ids = ids
        self._line_ending = line_ending
        self._usage = usage
        self._response_id = f"resp_{identity.id_text}"
        self._created = identity.created
        self._sequence = 0
        self._started = False
        self._open: _OpenItem | None = None
        self._output: list[dict[str, Any]] = []
        self._reason = "stop"
        self._out: list[bytes] = []

    def event(self, event: _Event) -> bytes:
        self._out = []
        if not self._started:
            self._started = True
            created = self._response("in_progress")
            self._emit("response.created", response=created)
            self._emit("response.in_progress", response=created)
        if isinstance(event, _Opening) and event.channel != "tools":
            part_type = "output_text" if event.channel == "content" else "refusal"
            self._open_message(part_type)
        elif isinstance(event, _TextDelta):
            self._delta(event.text)
        elif isinstance(event, _ToolCallOpened):
            self._close_item()
            self._open_call(event.call_id, event.name)
        elif isinstance(event, _ArgumentsDelta):
            self._delta(event.text)
        elif isinstance(event, _Finished):
            self._reason = event.reason
            self._close_item()
        elif isinstance(event, _Failed):
            self._fail(event)
        elif isinstance(event, _Done):
            self._finish()
        return b"".join(self._out)

    def keep_alive(self) -> bytes:
        return f": keep-alive{self._line_ending}{self._line_ending}".encode()

    def whole(self, said: _Said, usage: _Usage) -> bytes:
        """The ``Response`` object of a non-streamed request (``stream`` false)."""
        self._reason = said.finish_reason
        response = self._response(self._status())
        if said.calls:
            name = self._ask.tool_name or ""
            calls = [self._call_item(call.call_id, name) for call in said.calls]
            response["output"] = [
                {**item, "arguments": call.arguments, "status": "completed"}
                for item, call in zip(calls, said.calls, strict=True)
            ]
        else:
            response["output"] = [self._whole_message(said)]
        response["usage"] = _responses_usage(usage.prompt_tokens, usage.completion_tokens)
        return json.dumps(response, ensure_ascii=False).encode()

    # -- the pieces of the stream ---------------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        end = self._line_ending
        self._out.append(f"event: {kind}{end}data: {_dump(data)}{end}{end}".encode())

    def _response(self, status: str) -> dict[str, Any]:
        response = _response_object(self._ask.model, self._response_id, status)
        response["created_at"] = self._created
        return response

    def _open_message(self, part_type: str) -> None:
        item: dict[str, Any] = {
            "id": f"msg_{_random_text(self._ids, 48)}",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._open = _OpenItem(len(self._output), item, part_type)
        self._emit("response.output_item.added", output_index=self._open.index, item=item)
        self._emit("response.content_part.added", **self._where(), part=_part(part_type, ""))

    def _open_call(self, call_id: str, name: str) -> None:
        item = self._call_item(call_id, name)
        self._open = _OpenItem(len(self._output), item, None)
        self._emit("response.output_item.added", output_index=self._open.index, item=item)

    def _call_item(self, call_id: str, name: str) -> dict[str, Any]:
        return {
            "type": "function_call",
            "id": f"fc_{_random_text(self._ids, 48)}",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        where = {"item_id": self._open.item["id"], "output_index": self._open.index}
        return where if self._open.part_type is None else {**where, "content_index": 0}

    def _delta(self, text: str) -> None:
        open_item = self._open
        if open_item is None:
            return
        open_item.pieces.append(text)
        if open_item.part_type is None:
            self._emit("response.function_call_arguments.delta", **self._where(), delta=text)
        elif open_item.part_type == "output_text":
            self._emit("response.output_text.delta", **self._where(), delta=text, logprobs=[])
        else:
            self._emit("response.refusal.delta", **self._where(), delta=text)

    def _close_item(self) -> None:
        open_item = self._open
        if open_item is None:
            return
        self._open = None
        text = "".join(open_item.pieces)
        status = "incomplete" if self._reason in _INCOMPLETE_REASONS else "completed"
        where = {"item_id": open_item.item["id"], "output_index": open_item.index}
        if open_item.part_type is None:
            name = open_item.item["name"]
            self._emit("response.function_call_arguments.done", **where, name=name, arguments=text)
            finished = {**open_item.item, "arguments": text, "status": status}
        else:
            part = _part(open_item.part_type, text)
            where["content_index"] = 0
            if open_item.part_type == "output_text":
                self._emit("response.output_text.done", **where, text=text, logprobs=[])
            else:
                self._emit("response.refusal.done", **where, refusal=text)
            self._emit("response.content_part.done", **where, part=part)
            finished = {**open_item.item, "status": status, "content": [part]}
        self._emit("response.output_item.done", output_index=open_item.index, item=finished)
        self._output.append(finished)

    def _status(self) -> str:
        return "incomplete" if self._reason in _INCOMPLETE_REASONS else "completed"

    def _finish(self) -> None:
        status = self._status()
        response = self._response(status)
        response["output"] = self._output
        response["usage"] = _responses_usage(
            self._usage.prompt_tokens, self._usage.completion_tokens
        )
        if status == "incomplete":
            response["incomplete_details"] = {"reason": _INCOMPLETE_REASONS[self._reason]}
        self._emit(f"response.{status}", response=response)

    def _fail(self, event: _Failed) -> None:
        # The SDK's ResponseErrorEvent is flat; response.failed's error.code is a closed list, in
        # which "server_error" stands for any failure of ours.
        error = event.error
        self._emit("error", code=error.code or error.type, message=error.message, param=error.param)
        failed = self._response("failed")
        failed["error"] = {"code": "server_error", "message": error.message}
        failed["output"] = self._output
        self._emit("response.failed", response=failed)

    def _whole_message(self, said: _Said) -> dict[str, Any]:
        if said.refusal is not None:
            part = _part("refusal", said.refusal)
        else:
            part = _part("output_text", said.content or "")
        return {
            "id": f"msg_{_random_text(self._ids, 48)}",
            "type": "message",
            "status": self._status(),
            "role": "assistant",
            "content": [part],
        }


def _part(part_type: str, text: str) -> dict[str, Any]:
    if part_type == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "refusal", "refusal": text}
