"""The simulator's answers in the Responses and Anthropic dialects (testing layer, sans-I/O).

The simulator decides *what* a reply says (text, tool calls, a refusal, a cut, an error after N
deltas, usage) before deciding how it looks on the wire. :class:`PlannedReply` is that decision,
dialect-free; :func:`render_chat`, :func:`render_responses` and :func:`render_anthropic` turn it
into SSE frames with each API's exact event shapes (as recorded in ``tests/recordings/`` and typed
by the official SDKs: docs/dialects.md). Each frame carries whether it is a text delta, the unit
that the simulator's ``ErrorEvent.after`` and ``Stall.after`` count, so the shell can place a
stall the same way in every dialect. :func:`responses_error` and :func:`anthropic_error` are the
HTTP error answers (status, headers, body) per API.

How a plan maps, per dialect:

============== ============================== =============================== =======================
plan           chat                           Responses                       Anthropic
============== ============================== =============================== =======================
content pieces ``delta.content``              ``message`` item, ``output_text`` ``text`` block,
                                              part, ``response.output_text.   ``text_delta``
                                              delta``
a call         ``delta.tool_calls[i]``        ``function_call`` item,         ``tool_use`` block,
                                              ``response.function_call_       ``input_json_delta``
                                              arguments.delta``
refusal        ``delta.refusal``              ``refusal`` part,               ``stop_reason:
                                              ``response.refusal.delta``      "refusal"`` with
                                                                              ``stop_details``
reasoning      ``delta.reasoning_content``    ``reasoning`` item, ``response. ``thinking`` block,
                                              reasoning_summary_text.delta``  ``thinking_delta`` +
                                                                              ``signature_delta``
cut "length"   ``finish_reason: "length"``    ``response.incomplete``,        ``stop_reason:
                                              ``max_output_tokens``           "max_tokens"`` (the
                                                                              cut block unstopped)
cut "content_  ``finish_reason:               ``response.incomplete``,        ``stop_reason:
filter"``      "content_filter"``             ``content_filter``              "refusal"`` (Anthropic
                                                                              has no filter reason)
error after N  ``data: {"error": ...}``, end  ``error`` event, then           ``event: error``, end
                                              ``response.failed``
usage          last chunk (include_usage)     ``response.completed`` /        ``message_start``
                                              ``.incomplete`` ``usage``       input, ``message_delta``
                                                                              output
============== ============================== =============================== =======================
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, final

__all__ = [
    "Frame",
    "PlannedCall",
    "PlannedError",
    "PlannedReply",
    "anthropic_error",
    "render_anthropic",
    "render_chat",
    "render_responses",
    "responses_error",
]

Frame: TypeAlias = tuple[bytes, bool]
"""One SSE event as bytes, and whether it is a text delta (what fault positions count)."""

Cut: TypeAlias = Literal["length", "content_filter"]


@final
@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One tool call: its id (``call_...``), the tool's name and its arguments in pieces."""

    call_id: str
    name: str
    pieces: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class PlannedError:
    """An error sent mid-stream after ``after`` text deltas (OpenAI's vocabulary: ``type``
    ``server_error``, ``code``...; the Anthropic renderer maps the type to its own)."""

    after: int
    message: str = "The server had an error while processing your request. Sorry about that!"
    type: str = "server_error"
    code: str | None = None


@final
@dataclass(frozen=True, slots=True)
class PlannedReply:
    """What one streamed reply says, before any dialect shapes it.

    At most one of ``content``, ``calls`` and ``refusal`` is used, in that order of precedence:
    a refusal replaces the answer, calls replace content. ``cut`` ends the answer early (the
    pieces are already cut); ``error`` ends the stream after ``error.after`` text deltas.
    """

    model: str
    content: tuple[str, ...] = ()
    calls: tuple[PlannedCall, ...] = ()
    refusal: tuple[str, ...] | None = None
    reasoning: tuple[str, ...] = ()
    cut: Cut | None = None
    error: PlannedError | None = None
    prompt_tokens: int = 1
    completion_tokens: int = 1
    seed: int = 0


_Event: TypeAlias = tuple[str | None, dict[str, Any], bool]  # (SSE event name, data, counts)


def _ids(reply: PlannedReply) -> random.Random:
    return random.Random(f"dialect-ids:{reply.seed}")


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _frames(events: Sequence[_Event], line_ending: str) -> list[Frame]:
    out: list[Frame] = []
    for name, data, counts in events:
        head = f"event: {name}{line_ending}" if name is not None else ""
        out.append((f"{head}data: {_dump(data)}{line_ending}{line_ending}".encode(), counts))
    return out


def _cut_at_error(events: list[_Event], error: PlannedError | None) -> tuple[list[_Event], bool]:
    """The events before the error: all of them up to the text delta after the first
    ``error.after`` ones (the same rule in every dialect, so that each says as much before it
    fails), and whether there is an error."""
    if error is None:
        return events, False
    seen = 0
    for index, (_name, _data, counts) in enumerate(events):
        if counts:
            if seen >= error.after:
                return events[:index], True
            seen += 1
    return events, True


# -- chat ------------------------------------------------------------------------------------------


def render_chat(reply: PlannedReply, *, line_ending: str = "\n") -> list[Frame]:
    """The reply as ``chat.completion.chunk`` events, as the chat simulator sends them (usage
    included, ``[DONE]`` last): the reference the other dialects are compared with."""
    rng = _ids(reply)
    envelope = {
        "id": f"chatcmpl-{_token(rng, 29)}",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": reply.model,
    }

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**envelope, "choices": [choice], "usage": None}

    events: list[_Event] = [(None, chunk({"role": "assistant", "content": ""}), False)]
    events += [(None, chunk({"reasoning_content": p}), True) for p in reply.reasoning]
    if reply.refusal is not None:
        events += [(None, chunk({"refusal": p}), True) for p in reply.refusal]
    elif reply.calls:
        for index, call in enumerate(reply.calls):
            function = {"name": call.name, "arguments": ""}
            opening = {"index": index, "id": call.call_id, "type": "function", "function": function}
            events.append((None, chunk({"tool_calls": [opening]}), False))
            events += [
                (
                    None,
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]}),
                    True,
                )
                for p in call.pieces
            ]
    else:
        events += [(None, chunk({"content": p}), True) for p in reply.content]
    events, failed = _cut_at_error(events, reply.error)
    if failed and reply.error is not None:
        error = reply.error
        body = {"message": error.message, "type": error.type, "param": None, "code": error.code}
        return _frames([*events, (None, {"error": body}, False)], line_ending)
    reason = reply.cut or ("tool_calls" if reply.calls and reply.refusal is None else "stop")
    usage = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    events.append((None, chunk({}, reason), False))
    events.append((None, {**envelope, "choices": [], "usage": usage}, False))
    frames = _frames(events, line_ending)
    frames.append((f"data: [DONE]{line_ending}{line_ending}".encode(), False))
    return frames


# -- Responses -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ResponsesStream:
    """The events of one Responses stream being written: sequence numbers and output items."""

    reply: PlannedReply
    rng: random.Random
    events: list[_Event]
    output: list[dict[str, Any]]

    def emit(self, kind: str, *, counts: bool = False, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": len(self.events), **fields}
        self.events.append((kind, data, counts))


def _response_object(model: str, response_id: str, status: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "metadata": {},
    }


def render_responses(reply: PlannedReply, *, line_ending: str = "\n") -> list[Frame]:
    """The reply as a Responses API stream (``event:`` names equal to the data's ``type``,
    ``sequence_number`` on every event, no ``[DONE]``)."""
    rng = _ids(reply)
    response_id = f"resp_{_token(rng, 48)}"
    stream = _ResponsesStream(reply, rng, [], [])
    created = _response_object(reply.model, response_id, "in_progress")
    stream.emit("response.created", response=created)
    stream.emit("response.in_progress", response=created)
    _responses_reasoning(stream)
    if reply.refusal is not None:
        _responses_message(stream, "refusal", reply.refusal)
    elif reply.calls:
        for call in reply.calls:
            _responses_call(stream, call)
    else:
        _responses_message(stream, "output_text", reply.content)
    events, failed = _cut_at_error(stream.events, reply.error)
    if failed and reply.error is not None:
        stream.events = events
        _responses_failure(stream, response_id, reply.error)
    else:
        _responses_end(stream, response_id)
    return _frames(stream.events, line_ending)


def _responses_reasoning(stream: _ResponsesStream) -> None:
    """A reasoning item whose one summary part streams the reasoning pieces."""
    if not stream.reply.reasoning:
        return
    index = len(stream.output)
    item: dict[str, Any] = {
        "id": f"rs_{_token(stream.rng, 48)}",
        "type": "reasoning",
        "summary": [],
    }
    where: dict[str, Any] = {"item_id": item["id"], "output_index": index, "summary_index": 0}
    stream.emit("response.output_item.added", output_index=index, item=item)
    stream.emit("response.reasoning_summary_part.added", **where, part=_summary(""))
    for piece in stream.reply.reasoning:
        stream.emit("response.reasoning_summary_text.delta", counts=True, **where, delta=piece)
    text = "".join(stream.reply.reasoning)
    stream.emit("response.reasoning_summary_text.done", **where, text=text)
    stream.emit("response.reasoning_summary_part.done", **where, part=_summary(text))
    done = {**item, "summary": [_summary(text)]}
    stream.emit("response.output_item.done", output_index=index, item=done)
    stream.output.append(done)


def _summary(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def _responses_message(stream: _ResponsesStream, part_type: str, pieces: Sequence[str]) -> None:
    """A message item with one ``output_text`` or ``refusal`` part, streamed in ``pieces``."""
    is_text = part_type == "output_text"
    field, kind = ("text", "output_text") if is_text else ("refusal", "refusal")
    item_id = f"msg_{_token(stream.rng, 48)}"
    item: dict[str, Any] = {
        "id": item_id,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    index = len(stream.output)
    logprobs: dict[str, Any] = {"logprobs": []} if is_text else {}
    part: dict[str, Any] = {
        "type": part_type,
        field: "",
        **({"annotations": []} if is_text else {}),
    }
    where: dict[str, Any] = {"item_id": item_id, "output_index": index, "content_index": 0}
    stream.emit("response.output_item.added", output_index=index, item=item)
    stream.emit("response.content_part.added", **where, part=part)
    for piece in pieces:
        stream.emit(f"response.{kind}.delta", counts=True, **where, delta=piece, **logprobs)
    text = "".join(pieces)
    part = {**part, field: text}
    whole: dict[str, Any] = {field: text, **logprobs}
    stream.emit(f"response.{kind}.done", **where, **whole)
    stream.emit("response.content_part.done", **where, part=part)
    status = "incomplete" if stream.reply.cut else "completed"
    finished = {**item, "status": status, "content": [part]}
    stream.emit("response.output_item.done", output_index=index, item=finished)
    stream.output.append(finished)


def _responses_call(stream: _ResponsesStream, call: PlannedCall) -> None:
    index = len(stream.output)
    item_id = f"fc_{_token(stream.rng, 48)}"
    item = {
        "type": "function_call",
        "id": item_id,
        "call_id": call.call_id,
        "name": call.name,
        "arguments": "",
        "status": "in_progress",
    }
    stream.emit("response.output_item.added", output_index=index, item=item)
    for piece in call.pieces:
        stream.emit(
            "response.function_call_arguments.delta",
            counts=True,
            item_id=item_id,
            output_index=index,
            delta=piece,
        )
    arguments = "".join(call.pieces)
    stream.emit(
        "response.function_call_arguments.done",
        item_id=item_id,
        output_index=index,
        name=call.name,
        arguments=arguments,
    )
    status = "incomplete" if stream.reply.cut else "completed"
    finished = {**item, "arguments": arguments, "status": status}
    stream.emit("response.output_item.done", output_index=index, item=finished)
    stream.output.append(finished)


def _responses_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _responses_end(stream: _ResponsesStream, response_id: str) -> None:
    reply = stream.reply
    cut_reason = {"length": "max_output_tokens", "content_filter": "content_filter"}
    status = "incomplete" if reply.cut else "completed"
    final = _response_object(reply.model, response_id, status)
    final["output"] = stream.output
    final["usage"] = _responses_usage(reply.prompt_tokens, reply.completion_tokens)
    if reply.cut is not None:
        final["incomplete_details"] = {"reason": cut_reason[reply.cut]}
    stream.emit(f"response.{status}", response=final)


def _responses_failure(stream: _ResponsesStream, response_id: str, error: PlannedError) -> None:
    # The SDK's ResponseErrorEvent is flat; response.failed's error.code is a closed list, in
    # which "server_error" stands for any failure of ours.
    code = error.code or error.type
    stream.emit("error", code=code, message=error.message, param=None)
    failed = _response_object(stream.reply.model, response_id, "failed")
    failed["error"] = {"code": "server_error", "message": error.message}
    stream.emit("response.failed", response=failed)


def responses_error(message: str, *, type: str, code: str | None = None) -> bytes:
    """An HTTP error body of the Responses API: the same shape as chat completions'."""
    return _dump(
        {"error": {"message": message, "type": type, "param": None, "code": code}}
    ).encode()


# -- Anthropic -------------------------------------------------------------------------------------

# Anthropic's error types by HTTP status (docs.claude.com/en/api/errors); 502/503 have none there.
_ANTHROPIC_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# OpenAI error types/codes the simulator's faults use, in Anthropic's words.
_FROM_OPENAI: Final = {
    "server_error": "api_error",
    "rate_limit_exceeded": "rate_limit_error",
    "requests": "rate_limit_error",
    "invalid_request_error": "invalid_request_error",
}


def _anthropic_type(type_: str) -> str:
    if type_ in _ANTHROPIC_TYPES.values():
        return type_
    return _FROM_OPENAI.get(type_, "api_error")


def anthropic_error(
    status: int,
    message: str,
    *,
    request_id: str,
    type: str | None = None,
    should_retry: bool | None = None,
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """An Anthropic HTTP error: headers (``request-id``, ``x-should-retry`` when given) and the
    body ``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    error_type = _anthropic_type(type) if type else _ANTHROPIC_TYPES.get(status, "api_error")
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    data = _dump(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"request-id", request_id.encode()),
    ]
    if should_retry is not None:
        headers.append((b"x-should-retry", b"true" if should_retry else b"false"))
    return headers, data


def render_anthropic(reply: PlannedReply, *, line_ending: str = "\n") -> list[Frame]:
    """The reply as an Anthropic Messages stream (``message_start`` ... ``message_stop``)."""
    rng = _ids(reply)
    events: list[_Event] = []
    usage = {
        "input_tokens": reply.prompt_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    message: dict[str, Any] = {
        "id": f"msg_{_token(rng, 24)}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events.append(("message_start", {"type": "message_start", "message": message}, False))
    events.append(("ping", {"type": "ping"}, False))
    stop_reason = _anthropic_blocks(reply, rng, events)
    events, failed = _cut_at_error(events, reply.error)
    if failed and reply.error is not None:
        error = {"type": _anthropic_type(reply.error.type), "message": reply.error.message}
        events.append(("error", {"type": "error", "error": error}, False))
        return _frames(events, line_ending)
    delta: dict[str, Any] = {"stop_reason": stop_reason, "stop_sequence": None}
    if reply.refusal is not None:
        explanation = "".join(reply.refusal)
        delta["stop_details"] = {"type": "refusal", "category": None, "explanation": explanation}
    final_usage = {"output_tokens": reply.completion_tokens}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage}, False)
    )
    events.append(("message_stop", {"type": "message_stop"}, False))
    return _frames(events, line_ending)


def _anthropic_blocks(reply: PlannedReply, rng: random.Random, events: list[_Event]) -> str:
    """The content blocks' events; returns the stop reason."""
    index = 0
    if reply.reasoning:
        deltas = [{"type": "thinking_delta", "thinking": p} for p in reply.reasoning]
        signature = {"type": "signature_delta", "signature": _token(rng, 64)}
        _anthropic_block(
            events, index, {"type": "thinking", "thinking": "", "signature": ""}, deltas
        )
        events.insert(-1, _block_delta(index, signature, counts=False))
        index += 1
    cut_stop = {"length": "max_tokens", "content_filter": "refusal"}
    if reply.refusal is not None:
        # A refusal is the stop reason (and stop_details), with an empty text block (recorded).
        _anthropic_block(events, index, {"type": "text", "text": ""}, [])
        return "refusal"
    if reply.calls:
        for position, call in enumerate(reply.calls):
            block_id = f"toolu_{call.call_id.removeprefix('call_')}"
            block: dict[str, Any] = {"type": "tool_use", "id": block_id}
            block |= {"name": call.name, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [{"type": "input_json_delta", "partial_json": p} for p in call.pieces]
            # On max_tokens the cut (last) tool block gets no content_block_stop (recorded).
            last_cut = reply.cut == "length" and position == len(reply.calls) - 1
            _anthropic_block(events, index + position, block, deltas, stop=not last_cut)
        return cut_stop[reply.cut] if reply.cut else "tool_use"
    text = [{"type": "text_delta", "text": p} for p in reply.content]
    _anthropic_block(events, index, {"type": "text", "text": ""}, text)
    return cut_stop[reply.cut] if reply.cut else "end_turn"


def _anthropic_block(
    events: list[_Event],
    index: int,
    block: dict[str, Any],
    deltas: Sequence[dict[str, Any]],
    *,
    stop: bool = True,
) -> None:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    events.append(("content_block_start", start, False))
    # The empty first input_json_delta is no text delta: it carries nothing.
    events.extend(_block_delta(index, d, counts=d.get("partial_json") != "") for d in deltas)
    if stop:
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, False))


def _block_delta(index: int, delta: dict[str, Any], *, counts: bool) -> _Event:
    data = {"type": "content_block_delta", "index": index, "delta": delta}
    return ("content_block_delta", data, counts)
