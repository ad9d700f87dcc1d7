"""Re-asks: the messages that send a rejected answer and its validation errors back to the model.

Request layer; sans-I/O (nothing here sends anything). When an answer fails validation, the next
request repeats the conversation plus two turns: the model's rejected answer, as the API records
an answer of that kind, and the errors, as the API expects a reply to it. The shapes follow what
instructor sends for each mode, one function per API:

=================== ============================================== ===============================
API                 tools mode                                     content modes (``JSON_SCHEMA``,
                                                                   ``JSON``, ``MD_JSON``)
=================== ============================================== ===============================
Chat Completions    assistant message with the ``tool_calls``,     assistant message with the
(:func:`chat_...`)  then one ``tool`` message per call             text, then a ``user`` message
Responses           ``function_call`` items, then one              assistant message, then a
(:func:`respon...`) ``function_call_output`` item per call         ``user`` message
Anthropic           assistant ``tool_use`` blocks, then a user     assistant text, then a user
(:func:`anthr...`)  message of ``tool_result`` blocks,             message
                    ``is_error: true`` on the rejected call
=================== ============================================== ===============================

Every error is named with its path (``users[1].age: Input should be a valid integer``), so the
model knows what to fix. A call gets a reply even when it was not the rejected one: each API
refuses a tool call without its result. With several calls (an ``Iterable`` in tools mode, one
call per item) the calls before the rejected one are answered as kept, the rejected one with the
errors, any after it as not read.

A streamed answer is closed at the first error, so the rejected arguments may be an unfinished
JSON text: they are sent closed (the value received so far, as the parser's snapshot has it),
since servers that template the conversation parse them, and Anthropic takes only an object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, final

from pydantic import ValidationError

from .._core._json import JSONParser
from .._errors import JSONParseError, ResponseValidationError
from ._modes import Mode, ModeName

__all__ = [
    "ReaskBuilder",
    "Reasked",
    "RejectedAnswer",
    "RejectedToolCall",
    "anthropic_reask_messages",
    "chat_reask_messages",
    "closed_arguments",
    "describe_validation_errors",
    "reask_shape",
    "rejected_answer",
    "responses_reask_items",
]


@final
@dataclass(frozen=True, slots=True)
class Reasked:
    """The answer failed validation and was thrown away; the model is asked again.

    Yielded by ``events()`` before the new attempt's events. ``attempt`` is the number of the
    attempt that starts now (2 after the first answer failed); ``error`` is the
    :class:`~streamstruct.ResponseValidationError` that rejected the previous answer and ``text``
    that answer's text as received (the structured-output text: arguments or content).
    """

    attempt: int
    error: ResponseValidationError
    text: str


@final
@dataclass(frozen=True, slots=True)
class RejectedToolCall:
    """One tool call of a rejected answer: its id, its function's name and its arguments as
    received (possibly cut short at the first error)."""

    id: str
    name: str
    arguments: str


@final
@dataclass(frozen=True, slots=True)
class RejectedAnswer:
    """A rejected answer: its ``text`` (the message content, possibly empty) and its
    ``tool_calls`` (tools mode), in the order the model made them."""

    text: str = ""
    tool_calls: tuple[RejectedToolCall, ...] = ()


_TOOL_RETRY: Final = "Call the function again with every error fixed."
_KEPT: Final = "Valid: this call is kept. Do not make it again."
_NOT_READ: Final = "Not read: an earlier call was invalid. Make this call again after fixing it."
_CUT: Final = "(The answer was stopped at the first error: only what came before it is shown.)"
_MAX_SHOWN_INPUT: Final = 80


def describe_validation_errors(error: ValidationError | ResponseValidationError) -> str:
    """Each error on a line, with its path and the value that failed: what the model reads."""
    if isinstance(error, ValidationError):
        details: Sequence[Mapping[str, Any]] = error.errors(include_url=False)
    else:
        details = error.errors
    if not details:  # a ResponseValidationError raised without pydantic's details
        return f"- {error}"
    return "\n".join(_describe_one(detail) for detail in details)


def _describe_one(detail: Mapping[str, Any]) -> str:
    where = _path_text(tuple(detail.get("loc", ()))) or "the whole answer"
    line = f"- {where}: {detail.get('msg', 'invalid')}"
    if "input" in detail:
        line += f" (got {_shown(detail['input'])})"
    return line


def _path_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN_INPUT else text[: _MAX_SHOWN_INPUT - 3] + "..."


def _with_kept(text: str, kept_items: int) -> str:
    if kept_items <= 0:
        return text
    return (
        f"{text}\nThe first {kept_items} item(s) were valid and are kept: answer again with the "
        f"remaining items only, starting after item {kept_items - 1}."
    )


def closed_arguments(arguments: str) -> tuple[str, bool]:
    """``arguments`` as a complete JSON text, and whether it had to be closed (it was cut short).

    Complete JSON is returned as it is; an unfinished one as the value received so far (numbers
    and literals still being written left out, open strings cut where they stopped); text that
    is not JSON at all as ``{}``.
    """
    try:
        json.loads(arguments)
    except ValueError:
        pass
    else:
        return arguments, False
    parser = JSONParser()
    try:
        parser.feed(arguments)
        value = parser.snapshot()
    except JSONParseError:
        value = None
    return json.dumps(value if value is not None else {}, ensure_ascii=False), True


def _failed_call(answer: RejectedAnswer, error: ResponseValidationError | ValidationError) -> int:
    """Which call was rejected: the item's index (one call per item), else the last call."""
    index = error.index if isinstance(error, ResponseValidationError) else None
    last = len(answer.tool_calls) - 1
    return index if index is not None and 0 <= index <= last else last


def _replies(
    answer: RejectedAnswer, error: ResponseValidationError | ValidationError, kept_items: int
) -> list[tuple[RejectedToolCall, str, bool]]:
    """Per call: the call (its arguments closed), the reply to it, whether the reply is an error."""
    failed = _failed_call(answer, error)
    errors = describe_validation_errors(error)
    replies = []
    for index, call in enumerate(answer.tool_calls):
        arguments, cut = closed_arguments(call.arguments)
        if index < failed:
            reply, is_error = _KEPT, False
        elif index == failed:
            text = f"Validation failed:\n{errors}\n{_TOOL_RETRY}" + (f"\n{_CUT}" if cut else "")
            reply, is_error = _with_kept(text, kept_items), True
        else:
            reply, is_error = _NOT_READ, True
        replies.append((RejectedToolCall(call.id, call.name, arguments), reply, is_error))
    return replies


def _content_request(
    mode: Mode, error: ResponseValidationError | ValidationError, kept_items: int
) -> str:
    errors = describe_validation_errors(error)
    answer_as = (
        "only the corrected JSON, in a ```json block"
        if mode is Mode.MD_JSON
        else "only the corrected JSON"
    )
    return _with_kept(
        f"Your JSON answer failed validation:\n{errors}\nAnswer again with {answer_as}.", kept_items
    )


def _uses_tools(mode: Mode, answer: RejectedAnswer) -> bool:
    return mode is Mode.TOOLS and bool(answer.tool_calls)


def chat_reask_messages(
    mode: Mode | ModeName,
    answer: RejectedAnswer,
    error: ResponseValidationError | ValidationError,
    *,
    kept_items: int = 0,
) -> list[dict[str, Any]]:
    """The Chat Completions messages to append to the conversation to re-ask.

    Tools mode: the assistant message with the rejected ``tool_calls``, then a ``tool`` message
    answering each call (the rejected one with the errors). Content modes (and a tools-mode answer
    that made no call): the assistant message with the text, then a ``user`` message with the
    errors. ``kept_items`` > 0 (an ``Iterable`` whose first items were already yielded) asks for
    the remaining items only.
    """
    chosen = Mode(mode)
    if not _uses_tools(chosen, answer):
        return [
            {"role": "assistant", "content": answer.text},
            {"role": "user", "content": _content_request(chosen, error, kept_items)},
        ]
    replies = _replies(answer, error, kept_items)
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call, _, _ in replies
        ],
    }
    tool_messages = [
        {"role": "tool", "tool_call_id": call.id, "content": reply} for call, reply, _ in replies
    ]
    return [assistant, *tool_messages]


def responses_reask_items(
    mode: Mode | ModeName,
    answer: RejectedAnswer,
    error: ResponseValidationError | ValidationError,
    *,
    kept_items: int = 0,
) -> list[dict[str, Any]]:
    """The Responses API ``input`` items to append to re-ask.

    Tools mode: one ``function_call`` item per rejected call, then one ``function_call_output``
    item per call (matched by ``call_id``). Content modes: an assistant message with the text,
    then a user message with the errors.
    """
    chosen = Mode(mode)
    if not _uses_tools(chosen, answer):
        return [
            {"role": "assistant", "content": answer.text},
            {"role": "user", "content": _content_request(chosen, error, kept_items)},
        ]
    replies = _replies(answer, error, kept_items)
    calls = [
        {
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": call.arguments,
        }
        for call, _, _ in replies
    ]
    outputs = [
        {"type": "function_call_output", "call_id": call.id, "output": reply}
        for call, reply, _ in replies
    ]
    return [*calls, *outputs]


def anthropic_reask_messages(
    mode: Mode | ModeName,
    answer: RejectedAnswer,
    error: ResponseValidationError | ValidationError,
    *,
    kept_items: int = 0,
) -> list[dict[str, Any]]:
    """The Anthropic Messages API messages to append to re-ask.

    Tools mode: an assistant message of ``tool_use`` blocks (each call's arguments as the
    ``input`` object), then a user message of ``tool_result`` blocks, ``is_error: true`` on the
    rejected call. Content modes: the assistant's text, then a user message with the errors (the
    assistant turn is left out when the text is blank: Anthropic refuses an empty text block).
    """
    chosen = Mode(mode)
    if not _uses_tools(chosen, answer):
        request = {"role": "user", "content": _content_request(chosen, error, kept_items)}
        if not answer.text.strip():
            return [request]
        return [{"role": "assistant", "content": [{"type": "text", "text": answer.text}]}, request]
    replies = _replies(answer, error, kept_items)
    blocks: list[dict[str, Any]] = []
    if answer.text.strip():
        blocks.append({"type": "text", "text": answer.text})
    for call, _, _ in replies:
        arguments = json.loads(call.arguments)
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                # Anthropic takes an object only: anything else was not arguments at all.
                "input": arguments if isinstance(arguments, dict) else {},
            }
        )
    results = [
        {"type": "tool_result", "tool_use_id": call.id, "content": reply, "is_error": is_error}
        for call, reply, is_error in replies
    ]
    return [{"role": "assistant", "content": blocks}, {"role": "user", "content": results}]


ReaskBuilder: TypeAlias = Callable[..., list[dict[str, Any]]]
"""One of the builders above: ``(mode, answer, error, *, kept_items=0) -> turns to append``."""

API: TypeAlias = Literal["chat", "responses", "anthropic"]

_SHAPES: Final[Mapping[str, tuple[str, ReaskBuilder]]] = {
    "chat": ("messages", chat_reask_messages),
    "responses": ("input", responses_reask_items),
    "anthropic": ("messages", anthropic_reask_messages),
}


def reask_shape(api: API = "chat") -> tuple[str, ReaskBuilder]:
    """For the API a request speaks: the request body's key holding the conversation, and the
    builder of the turns a re-ask appends to it. The one place a dialect chooses its re-ask."""
    return _SHAPES[api]


def rejected_answer(
    text: str, tool_calls: Sequence[tuple[str | None, str | None, str]], default_name: str
) -> RejectedAnswer:
    """The rejected answer from what was read: the content ``text`` and the tool calls as
    ``(id, name, arguments)``. A call the server sent without an id gets one (every API matches a
    reply to its call by id), and one without a name ``default_name`` (the tool asked for)."""
    calls = tuple(
        RejectedToolCall(call_id or f"call_{index}", name or default_name, arguments)
        for index, (call_id, name, arguments) in enumerate(tool_calls)
    )
    return RejectedAnswer(text, calls)
