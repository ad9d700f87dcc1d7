"""The sans-I/O planner: request + reply + settings -> status, headers and every step to send.

Planning a streamed answer goes in three stages, so that another wire format (the Responses API,
Anthropic Messages) is one more renderer, not a second planner:

1. :func:`_compose` decides what the answer *says* (:class:`_Said`), per kind of reply: content
   (:func:`_content_text`), tool calls (:func:`_tool_calls`), and the faults that change it
   (:func:`_apply_refusal_or_truncation`).
2. :func:`_stream_events` turns that into abstract stream events (:data:`_Event`): the opening,
   the text deltas of each channel, then the ending (finish, usage, ``[DONE]``, or an error).
3. A renderer (:class:`._chat_render._ChatRenderer` today) turns each event into the bytes of one
   SSE event; :func:`_schedule` lays them out with pauses, stalls and keep-alive comments.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from ._answer import (
    _ArgumentsDelta,
    _Call,
    _Done,
    _Event,
    _Failed,
    _Finished,
    _Identity,
    _Opening,
    _Renderer,
    _Said,
    _TextDelta,
    _ToolCallOpened,
    _Usage,
    _UsageReport,
)
from ._anthropic_render import _AnthropicRenderer
from ._ask import _Ask, _asks_for_items
from ._chat_render import _ChatRenderer, _dump, _random_text
from ._dialect_ask import _Api
from ._dialects import anthropic_error
from ._generate import generate_value
from ._responses_render import _ResponsesRenderer
from ._script import (
    _DEFAULT_ERRORS,
    _GENERATED,
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    Fault,
    MissingDone,
    Refusal,
    Reply,
    Stall,
    Truncate,
    _chunk_sizes,
    _faults,
    _Settings,
)

_F = TypeVar("_F")

__all__ = ["_Pause", "_Plan", "_StallStep", "_Step", "_plan"]


@dataclass(frozen=True, slots=True)
class _Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class _StallStep:
    seconds: float


_Step: TypeAlias = bytes | _Pause | _StallStep


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything the shell needs: status, headers, the steps, and where to cut the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    steps: list[_Step]
    drop_after: int | None = None


# ---------------------------------------------------------------------------------------------
# What the answer says.
# ---------------------------------------------------------------------------------------------


def _compose(
    ask: _Ask, reply: Reply, settings: _Settings, faults: Sequence[Fault], ids: random.Random
) -> _Said:
    value = reply.value
    if value is _GENERATED:
        seed = ask.seed if ask.seed is not None else settings.seed
        value = {} if ask.schema is None else generate_value(ask.schema, seed=seed)
    if ask.tool_name is not None:
        calls = [_Call(f"call_{_random_text(ids, 24)}", a) for a in _tool_calls(ask, reply, value)]
        said = _Said(None, calls, None, "stop" if ask.tool_choice_named else "tool_calls")
    else:
        content = _content_text(value, reply.style or settings.style)
        said = _Said(content, [], None, "stop")
    said = _apply_refusal_or_truncation(said, faults)
    if reply.finish_reason is not None:
        said = _Said(said.content, said.calls, said.refusal, reply.finish_reason)
    return said


def _tool_calls(ask: _Ask, reply: Reply, value: object) -> list[str]:
    """The arguments text of each tool call."""
    items = value.get("items") if isinstance(value, Mapping) else None
    per_item = reply.tool_calls == "per_item" or (
        reply.tool_calls == "auto" and _asks_for_items(ask) and isinstance(items, list)
    )
    if per_item and ask.parallel_tool_calls and isinstance(items, list):
        # One call per item, whose arguments are the item: how a model answers when the
        # tool's parameters are the item's schema and parallel calls are allowed.
        return [_dump(item) for item in items] or [_dump(value)]
    return [value if isinstance(value, str) else _dump(value)]


def _content_text(value: object, style: str) -> str:
    if isinstance(value, str):
        return value
    if style == "md_json":
        pretty = json.dumps(value, indent=2, ensure_ascii=False)
        return (
            f"Here is the JSON you asked for:\n\n```json\n{pretty}\n```\n\n"
            "Let me know if you need anything else."
        )
    return _dump(value)


def _apply_refusal_or_truncation(said: _Said, faults: Sequence[Fault]) -> _Said:
    refusal = _first(faults, Refusal)
    if refusal is not None:
        return _Said(None, [], refusal.text, "stop")
    truncate = _first(faults, Truncate)
    if truncate is None:
        return said
    budget = truncate.after_chars
    content = said.content[:budget] if said.content is not None else None
    kept: list[_Call] = []
    for call in said.calls:
        if budget <= 0 and kept:
            break
        kept.append(_Call(call.call_id, call.arguments[: max(budget, 0)]))
        budget -= len(call.arguments)
    return _Said(content, kept, None, truncate.finish_reason)


# ---------------------------------------------------------------------------------------------
# The stream as abstract events, for a renderer per wire format.
# ---------------------------------------------------------------------------------------------


def _stream_events(
    ask: _Ask, said: _Said, chunk_sizes: Sequence[int], tool_name: str
) -> list[_Event]:
    """The opening and every text delta of the answer, cut in ``chunk_sizes`` pieces."""
    sizes = itertools.cycle(chunk_sizes)
    events: list[_Event] = []
    if said.refusal is not None:
        events.append(_Opening("refusal"))
        events.extend(_TextDelta("refusal", p) for p in _pieces(said.refusal, sizes))
    elif ask.tool_name is not None:
        events.append(_Opening("tools"))
        for index, call in enumerate(said.calls):
            events.append(_ToolCallOpened(index, call.call_id, tool_name))
            events.extend(_ArgumentsDelta(index, p) for p in _pieces(call.arguments, sizes))
    else:
        events.append(_Opening("content"))
        events.extend(_TextDelta("content", p) for p in _pieces(said.content or "", sizes))
    return events


def _pieces(text: str, sizes: Iterator[int]) -> list[str]:
    out: list[str] = []
    position = 0
    while position < len(text):
        size = next(sizes)
        out.append(text[position : position + size])
        position += size
    return out


def _ending(ask: _Ask, said: _Said, usage: _Usage, faults: Sequence[Fault]) -> list[_Event]:
    error = _first(faults, ErrorEvent)
    if error is not None:
        return [_Failed(error)]
    ending: list[_Event] = [_Finished(said.finish_reason)]
    if ask.include_usage:
        ending.append(_UsageReport(usage))
    if _first(faults, MissingDone) is None:
        ending.append(_Done())
    return ending


def _after_deltas(events: Sequence[_Event], after: int) -> int:
    """The index just past the ``after``-th text delta (faults' ``after`` counts those)."""
    if after <= 0:
        return 0
    seen = 0
    for index, event in enumerate(events):
        seen += isinstance(event, (_TextDelta, _ArgumentsDelta))
        if seen >= after:
            return index + 1
    return len(events)


# ---------------------------------------------------------------------------------------------
# The plan.
# ---------------------------------------------------------------------------------------------


def _plan(
    ask: _Ask,
    reply: Reply,
    settings: _Settings,
    *,
    number: int,
    request_id: str,
    api: _Api = "chat",
) -> _Plan:
    """Decide the whole response to one request: status, headers, every byte and pause."""
    faults = (*settings.faults, *_faults(reply.faults))
    status_fault = _first(faults, ErrorStatus)
    if status_fault is not None:
        return _error_plan(status_fault, request_id, api)
    ids = random.Random(f"ids:{settings.seed}:{number}")
    said = _compose(ask, reply, settings, faults, ids)
    completion_tokens = max(1, math.ceil(len(said.text) / 4))
    usage = _Usage(ask.prompt_tokens, completion_tokens)
    identity = _Identity(_random_text(ids, 29), int(time.time()), f"fp_{ids.getrandbits(40):010x}")
    renderer = _renderer(api, ask, identity, ids, settings, usage)
    disconnect = _first(faults, Disconnect)
    drop_after = None if disconnect is None else disconnect.after_bytes
    request_id_header = _request_id_header(api, request_id)
    if not ask.stream:
        return _whole_plan(renderer, said, usage, faults, request_id_header, drop_after, api)
    return _stream_plan(
        ask, reply, settings, renderer, said, usage, faults, request_id_header, drop_after
    )


def _renderer(
    api: _Api,
    ask: _Ask,
    identity: _Identity,
    ids: random.Random,
    settings: _Settings,
    usage: _Usage,
) -> _Renderer:
    """The renderer of the API the request was sent to."""
    if api == "responses":
        return _ResponsesRenderer(ask, identity, ids, settings.line_ending, usage)
    if api == "anthropic":
        return _AnthropicRenderer(ask, identity, ids, settings.line_ending, usage)
    return _ChatRenderer(ask, identity, ids, settings.line_ending)


def _request_id_header(api: _Api, request_id: str) -> tuple[bytes, bytes]:
    """OpenAI's ``x-request-id``, or Anthropic's ``request-id``."""
    name = b"request-id" if api == "anthropic" else b"x-request-id"
    return name, request_id.encode()


def _whole_plan(
    renderer: _Renderer,
    said: _Said,
    usage: _Usage,
    faults: Sequence[Fault],
    request_id: tuple[bytes, bytes],
    drop_after: int | None,
    api: _Api,
) -> _Plan:
    """A non-streamed answer: one JSON body (a late error becomes a 500 before it)."""
    error = _first(faults, ErrorEvent)
    if error is not None:
        status = ErrorStatus(500, message=error.message, type=error.type, code=error.code)
        return _error_plan(status, request_id[1].decode(), api)
    data = renderer.whole(said, usage)
    stall = _first(faults, Stall)
    steps: list[_Step] = [] if stall is None else [_StallStep(stall.seconds)]
    steps.append(data)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        request_id,
    ]
    return _Plan(status=200, headers=headers, steps=steps, drop_after=drop_after)


def _stream_plan(
    ask: _Ask,
    reply: Reply,
    settings: _Settings,
    renderer: _Renderer,
    said: _Said,
    usage: _Usage,
    faults: Sequence[Fault],
    request_id: tuple[bytes, bytes],
    drop_after: int | None,
) -> _Plan:
    chunk_sizes = _reply_chunk_sizes(reply, settings)
    events = _stream_events(ask, said, chunk_sizes, ask.tool_name or "")
    stall = _first(faults, Stall)
    stall_at = _after_deltas(events, stall.after) if stall is not None else None
    error = _first(faults, ErrorEvent)
    if error is not None:  # the stream fails after `error.after` deltas, with no finish
        events = events[: _after_deltas(events, error.after)]
    frames = [renderer.event(event) for event in events]
    frames.extend(renderer.event(event) for event in _ending(ask, said, usage, faults))
    delay = reply.delay if reply.delay is not None else settings.delay
    steps = _schedule(frames, renderer, settings, delay, stall, stall_at)
    headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        request_id,
    ]
    return _Plan(status=200, headers=headers, steps=steps, drop_after=drop_after)


def _reply_chunk_sizes(reply: Reply, settings: _Settings) -> tuple[int, ...]:
    return _chunk_sizes(reply.chunk_size) if reply.chunk_size is not None else settings.chunk_size


def _schedule(
    frames: Sequence[bytes],
    renderer: _Renderer,
    settings: _Settings,
    delay: float,
    stall: Stall | None,
    stall_at: int | None,
) -> list[_Step]:
    """The frames with a pause between them, the stall before frame ``stall_at``, and a
    keep-alive comment after every ``keep_alive_every`` frames (never after the last)."""
    steps: list[_Step] = []
    every = settings.keep_alive_every
    for index, frame in enumerate(frames):
        if index == stall_at and stall is not None:
            steps.append(_StallStep(stall.seconds))
        if index > 0 and delay > 0:
            steps.append(_Pause(delay))
        if frame:  # an event another API does not stream (an Anthropic refusal's text)
            steps.append(frame)
        if every is not None and (index + 1) % every == 0 and index + 1 < len(frames):
            steps.append(renderer.keep_alive())
    return steps


def _error_plan(fault: ErrorStatus, request_id: str, api: _Api = "chat") -> _Plan:
    if api == "anthropic":
        message = fault.message if fault.message is not None else _anthropic_message(fault.status)
        headers, data = anthropic_error(
            fault.status, message, request_id=request_id, type=fault.type
        )
        return _Plan(status=fault.status, headers=_error_headers(headers, fault), steps=[data])
    message, type_, code = _DEFAULT_ERRORS.get(
        fault.status,
        (
            "The request failed.",
            "server_error" if fault.status >= 500 else "invalid_request_error",
            None,
        ),
    )
    error = {
        "message": fault.message if fault.message is not None else message,
        "type": fault.type if fault.type is not None else type_,
        "param": fault.param,
        "code": fault.code if fault.code is not None else code,
    }
    data = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    return _Plan(status=fault.status, headers=_error_headers(headers, fault), steps=[data])


def _error_headers(
    headers: list[tuple[bytes, bytes]], fault: ErrorStatus
) -> list[tuple[bytes, bytes]]:
    """An error answer's headers, with the fault's ``retry-after`` and extra headers."""
    if fault.retry_after is not None:
        seconds = fault.retry_after
        text = str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))
        headers.append((b"retry-after", text.encode()))
    headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()
    )
    return headers


# Anthropic's wording for the statuses a test is most likely to script (docs.claude.com errors).
_ANTHROPIC_MESSAGES: Final = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "The requested resource could not be found.",
    429: "Number of request tokens has exceeded your per-minute rate limit.",
    500: "Internal server error",
    529: "Overloaded",
}


def _anthropic_message(status: int) -> str:
    return _ANTHROPIC_MESSAGES.get(status, "The request failed.")


def _first(faults: Sequence[Fault], kind: type[_F]) -> _F | None:
    return next((f for f in faults if isinstance(f, kind)), None)
