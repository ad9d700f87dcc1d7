"""The request of one call in the Responses and the Anthropic dialects (request layer, sans-I/O).

:func:`~streamstruct._request._modes.plan_request` plans every call in chat shape: chat ``tools``
(``{"type": "function", "function": {...}}``), ``tool_choice``, ``parallel_tool_calls``,
``response_format``, and the caller's messages in chat shape (the mode's instruction added as a
system message). :func:`responses_request` and :func:`anthropic_request` translate that plan, the
model and the call's request parameters into a :class:`DialectRequest`: the path, the headers the
dialect needs and the JSON body, field names as the providers' SDKs type them (what was checked
where: docs/dialects.md §3).

================ ========================================== ==========================================
chat plan        Responses (``POST /responses``)            Anthropic (``POST /v1/messages``)
================ ========================================== ==========================================
tool             ``{"type": "function", "name",             ``{"name", "description", "input_schema",
                 "description", "parameters", "strict"}``   "eager_input_streaming": true}``
                                                            (+ ``"strict": true`` when strict)
forced call      ``{"type": "function", "name"}``           ``{"type": "tool", "name",
                                                            "disable_parallel_tool_use": true}``
``"required"``   ``"required"``, ``parallel_tool_calls``    ``{"type": "any"}`` (parallel use is the
                                                            default)
json_schema      ``text.format`` ``{"type": "json_schema",  ``output_config.format`` ``{"type":
                 "name", "schema", "strict"}``              "json_schema", "schema"}`` (GA)
json_object      ``text.format`` ``{"type": "json_object"}`` nothing: the instruction prompts for it
system messages  ``instructions`` (the leading ones)        ``system`` (the leading ones)
user/assistant   ``input`` message items                    ``messages`` with content blocks
``image_url``    ``input_image`` (``detail`` "auto" unless  ``image`` block, a ``url`` or (data: URL)
                 given)                                     a ``base64`` source
assistant calls  ``function_call`` items                    ``tool_use`` blocks (input parsed)
role ``tool``    ``function_call_output`` items             ``tool_result`` blocks in a user message
================ ========================================== ==========================================

Anthropic requires ``max_tokens``: :data:`ANTHROPIC_DEFAULT_MAX_TOKENS` (4096) unless the call
passes its own. Fine-grained tool streaming is asked per tool with the GA field
``eager_input_streaming`` (no beta header). Extended ``thinking`` cannot go with a forced tool
choice (the API answers 400), so ``TOOLS`` mode with thinking enabled is refused here, naming
``mode=JSON_SCHEMA`` as the way. A message that cannot be translated (an unknown role, an audio or
file part, a system message after the conversation began, for Anthropic) raises
:class:`~streamstruct.InvalidArgumentValueError` naming it (``messages[3]``, ``messages[1].content[2]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict, final

from .._errors import InvalidArgumentTypeError, InvalidArgumentValueError
from ._modes import RequestPlan

__all__ = [
    "ANTHROPIC_DEFAULT_MAX_TOKENS",
    "ANTHROPIC_VERSION",
    "AnthropicParams",
    "DialectRequest",
    "ResponsesParams",
    "anthropic_messages",
    "anthropic_request",
    "check_dialect_params",
    "responses_input",
    "responses_request",
]

ANTHROPIC_DEFAULT_MAX_TOKENS: Final = 4096
"""``max_tokens`` sent to Anthropic when the call gives none (the API requires one). Enough for
a structured answer of a few pages; pass ``max_tokens=`` for more."""

ANTHROPIC_VERSION: Final = "2023-06-01"
"""The ``anthropic-version`` header, the value the ``anthropic`` SDK sends."""


class ResponsesParams(TypedDict, total=False):
    """The Responses API's request parameters a caller sets (openai-python
    ``ResponseCreateParams``), sent into the body unchanged."""

    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    metadata: Mapping[str, str] | None
    reasoning: Mapping[str, Any] | None  # {"effort", "summary", ...}
    store: bool | None
    previous_response_id: str | None
    conversation: str | Mapping[str, Any] | None
    include: Sequence[str] | None
    truncation: Literal["auto", "disabled"] | None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast"] | None
    parallel_tool_calls: bool | None
    top_logprobs: int | None
    prompt_cache_key: str | None
    prompt_cache_retention: Literal["in_memory", "24h"] | None
    safety_identifier: str | None
    user: str
    stream_options: Mapping[str, Any] | None  # {"include_obfuscation": bool}


class AnthropicParams(TypedDict, total=False):
    """Anthropic's Messages request parameters a caller sets (anthropic-sdk-python
    ``MessageCreateParams``), sent into the body unchanged; ``output_config`` is merged with
    the mode's ``format``."""

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop_sequences: Sequence[str]
    metadata: Mapping[str, Any]  # {"user_id": ...}
    thinking: Mapping[str, Any]  # {"type": "enabled", "budget_tokens": n} | {"type": "adaptive"}
    service_tier: Literal["auto", "standard_only"]
    output_config: Mapping[str, Any]  # {"effort": ...}; "format" is the mode's
    container: str | None
    inference_geo: str | None


_KNOWN: Final = {
    "responses": ResponsesParams.__optional_keys__,
    "anthropic": AnthropicParams.__optional_keys__,
}
# The chat name a caller is likely to pass, and the dialect's own.
_RENAMED: Final = {
    "responses": {"max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens"},
    "anthropic": {
        "stop": "stop_sequences",
        "max_completion_tokens": "max_tokens",
        "user": "metadata={'user_id': ...}",
    },
}


def check_dialect_params(api: Literal["responses", "anthropic"], params: Mapping[str, Any]) -> None:
    """Refuse a request parameter the dialect does not type (``extra_body=`` takes any)."""
    for name in params:
        if name not in _KNOWN[api]:
            renamed = _RENAMED[api].get(name)
            hint = f"use {renamed}" if renamed else "pass it in extra_body= if the API takes it"
            raise InvalidArgumentTypeError(
                f"{name!r} is not a request parameter of the {api} API: {hint}", argument=name
            )


@final
@dataclass(frozen=True, slots=True)
class DialectRequest:
    """What to send: the path under the base URL, the dialect's own headers, the JSON body."""

    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]


def responses_request(
    plan: RequestPlan, *, model: str, params: Mapping[str, Any] | None = None
) -> DialectRequest:
    """The ``POST /responses`` request for ``plan`` (``params``: the call's request parameters,
    ``extra_body`` merged in; they win over nothing the mode writes)."""
    instructions, items = responses_input(plan.messages)
    body: dict[str, Any] = {"model": model, "input": items, "stream": True}
    if instructions is not None:
        body["instructions"] = instructions
    chat = plan.body
    if "tools" in chat:
        body["tools"] = [_responses_tool(tool["function"]) for tool in chat["tools"]]
        choice = chat["tool_choice"]
        body["tool_choice"] = (
            {"type": "function", "name": choice["function"]["name"]}
            if isinstance(choice, Mapping)
            else choice
        )
    if "parallel_tool_calls" in chat:
        body["parallel_tool_calls"] = chat["parallel_tool_calls"]
    response_format = chat.get("response_format")
    if response_format is not None:
        body["text"] = {"format": _responses_format(response_format)}
    body.update(_without(params, body))
    return DialectRequest(path="/responses", headers={}, body=body)


def _responses_tool(function: Mapping[str, Any]) -> dict[str, Any]:
    # Flat, and "strict" is Required[Optional[bool]] in FunctionToolParam: always sent.
    return {
        "type": "function",
        "name": function["name"],
        "description": function.get("description"),
        "parameters": function["parameters"],
        "strict": bool(function.get("strict", False)),
    }


def _responses_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    if response_format["type"] == "json_schema":
        json_schema = response_format["json_schema"]
        return {
            "type": "json_schema",
            "name": json_schema["name"],
            "schema": json_schema["schema"],
            "strict": json_schema["strict"],
        }
    return {"type": "json_object"}


def anthropic_request(
    plan: RequestPlan,
    *,
    model: str,
    params: Mapping[str, Any] | None = None,
    api_key: str | None = None,
) -> DialectRequest:
    """The ``POST /v1/messages`` request for ``plan``; ``api_key`` goes in ``x-api-key``."""
    params = dict(params or {})
    _refuse_thinking_with_forced_tool(plan, params.get("thinking"))
    system, messages = anthropic_messages(plan.messages)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": params.pop("max_tokens", ANTHROPIC_DEFAULT_MAX_TOKENS),
        "messages": messages,
        "stream": True,
    }
    if system is not None:
        body["system"] = system
    chat = plan.body
    if "tools" in chat:
        body["tools"] = [_anthropic_tool(tool["function"]) for tool in chat["tools"]]
        choice = chat["tool_choice"]
        body["tool_choice"] = (
            {"type": "tool", "name": choice["function"]["name"], "disable_parallel_tool_use": True}
            if isinstance(choice, Mapping)
            else {"type": "any"}
        )
    output_config = dict(params.pop("output_config", None) or {})
    response_format = chat.get("response_format")
    if response_format is not None and response_format["type"] == "json_schema":
        output_config["format"] = {
            "type": "json_schema",
            "schema": response_format["json_schema"]["schema"],
        }
    if output_config:
        body["output_config"] = output_config
    body.update(_without(params, body))
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if api_key is not None:
        headers["x-api-key"] = api_key
    return DialectRequest(path="/v1/messages", headers=headers, body=body)


def _anthropic_tool(function: Mapping[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "name": function["name"],
        "description": function.get("description") or "",
        "input_schema": function["parameters"],
        # Fine-grained tool streaming (GA): the input streamed as generated, not buffered.
        "eager_input_streaming": True,
    }
    if function.get("strict"):
        tool["strict"] = True
    return tool


def _refuse_thinking_with_forced_tool(plan: RequestPlan, thinking: object) -> None:
    if "tools" not in plan.body or not isinstance(thinking, Mapping):
        return
    if thinking.get("type") in ("enabled", "adaptive"):
        raise InvalidArgumentValueError(
            "Anthropic refuses extended thinking with a forced tool_choice, which Mode.TOOLS "
            "sends: use mode=Mode.JSON_SCHEMA (or JSON) with thinking",
            argument="thinking",
        )


def _without(params: Mapping[str, Any] | None, written: Mapping[str, Any]) -> dict[str, Any]:
    # The caller's parameters never replace what the mode and the messages wrote.
    return {k: v for k, v in (params or {}).items() if k not in written}


# -- messages: chat shape -> Responses input items ------------------------------------------------


def responses_input(
    messages: Sequence[Mapping[str, Any]],
) -> tuple[str | None, list[dict[str, Any]]]:
    """``(instructions, input)``: the leading system/developer messages joined as the
    instructions, every other message an input item (a later system message keeps its role)."""
    leading, rest = _split_leading_system(messages)
    instructions = "\n\n".join(_system_text(m, i) for i, m in leading) if leading else None
    items: list[dict[str, Any]] = []
    for index, message in rest:
        items.extend(_responses_items(message, index))
    return instructions, items


def _responses_items(message: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    role = message.get("role")
    where = f"messages[{index}]"
    if role == "tool":
        return [
            {
                "type": "function_call_output",
                "call_id": _required_string(message, "tool_call_id", where),
                "output": _plain_text(message.get("content"), where),
            }
        ]
    if role in ("system", "developer"):
        return [{"role": role, "content": _plain_text(message.get("content"), where)}]
    if role == "user":
        return [{"role": "user", "content": _responses_parts(message.get("content"), where)}]
    if role == "assistant":
        items: list[dict[str, Any]] = []
        content = message.get("content")
        if content:
            items.append({"role": "assistant", "content": _plain_text(content, where)})
        for position, call in enumerate(message.get("tool_calls") or ()):
            name, arguments, call_id = _chat_call(call, f"{where}.tool_calls[{position}]")
            items.append(
                {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
            )
        return items
    raise _untranslatable(where, f"role {role!r} has no Responses API equivalent")


def _responses_parts(content: object, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for position, part in enumerate(_parts(content, where)):
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            url, detail = _image_url(part, f"{where}.content[{position}]")
            parts.append({"type": "input_image", "image_url": url, "detail": detail or "auto"})
        else:
            raise _untranslatable(f"{where}.content[{position}]", f"a {kind!r} part")
    return parts


# -- messages: chat shape -> Anthropic system + messages -------------------------------------------


def anthropic_messages(
    messages: Sequence[Mapping[str, Any]],
) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)``: the leading system/developer messages joined as ``system``, the
    others as ``user``/``assistant`` messages of content blocks; tool results become
    ``tool_result`` blocks of one user message (consecutive ones together, as the API wants)."""
    leading, rest = _split_leading_system(messages)
    system = "\n\n".join(_system_text(m, i) for i, m in leading) if leading else None
    out: list[dict[str, Any]] = []
    for index, message in rest:
        role = message.get("role")
        where = f"messages[{index}]"
        if role == "tool":
            block = _tool_result(message, where)
            if out and out[-1]["role"] == "user" and _only_tool_results(out[-1]):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "user":
            out.append({"role": "user", "content": _anthropic_blocks(message, where)})
        elif role == "assistant":
            out.append({"role": "assistant", "content": _assistant_blocks(message, where)})
        elif role in ("system", "developer"):
            raise _untranslatable(
                where, f"a {role} message after the conversation began (Anthropic takes one system)"
            )
        else:
            raise _untranslatable(where, f"role {role!r} has no Anthropic equivalent")
    return system, out


def _only_tool_results(message: Mapping[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _tool_result(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": _required_string(message, "tool_call_id", where),
        "content": _plain_text(message.get("content"), where),
    }


def _anthropic_blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for position, part in enumerate(_parts(content, where)):
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            url, _detail = _image_url(part, f"{where}.content[{position}]")
            blocks.append({"type": "image", "source": _image_source(url, where, position)})
        else:
            raise _untranslatable(f"{where}.content[{position}]", f"a {kind!r} part")
    return blocks


def _assistant_blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    content = message.get("content")
    if content:
        blocks.append({"type": "text", "text": _plain_text(content, where)})
    for position, call in enumerate(message.get("tool_calls") or ()):
        call_where = f"{where}.tool_calls[{position}]"
        name, arguments, call_id = _chat_call(call, call_where)
        try:
            arguments_value = json.loads(arguments) if arguments else {}
        except ValueError:
            arguments_value = None
        if not isinstance(arguments_value, dict):
            raise _untranslatable(call_where, "arguments that are not a JSON object")
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments_value})
    return blocks


_MEDIA_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _image_source(url: str, where: str, position: int) -> dict[str, Any]:
    if not url.startswith("data:"):
        return {"type": "url", "url": url}
    header, _, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if encoding != "base64" or media_type not in _MEDIA_TYPES:
        raise _untranslatable(
            f"{where}.content[{position}]",
            f"an image data URL of type {media_type or '?'!r} (Anthropic takes base64 "
            "jpeg, png, gif or webp)",
        )
    return {"type": "base64", "media_type": media_type, "data": data}


# -- shared pieces ---------------------------------------------------------------------------------


def _split_leading_system(
    messages: Sequence[Mapping[str, Any]],
) -> tuple[list[tuple[int, Mapping[str, Any]]], list[tuple[int, Mapping[str, Any]]]]:
    numbered = list(enumerate(messages))
    for position, (_index, message) in enumerate(numbered):
        if not isinstance(message, Mapping):
            raise InvalidArgumentTypeError(
                f"messages[{position}] must be a mapping (a dict), not {type(message).__name__}",
                argument=f"messages[{position}]",
            )
    count = 0
    while count < len(numbered) and numbered[count][1].get("role") in ("system", "developer"):
        count += 1
    return numbered[:count], numbered[count:]


def _system_text(message: Mapping[str, Any], index: int) -> str:
    # Parts apart by a blank line: the mode's instruction is appended to a system message with
    # list content as one more text part, and must not run on from the caller's last sentence.
    return _plain_text(message.get("content"), f"messages[{index}]", separator="\n\n")


def _plain_text(content: object, where: str, *, separator: str = "") -> str:
    """Text content: a string, or text parts joined (no images where only text fits)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for position, part in enumerate(_parts(content, where)):
        if part.get("type") != "text":
            raise _untranslatable(f"{where}.content[{position}]", f"a {part.get('type')!r} part")
        texts.append(str(part.get("text", "")))
    return separator.join(texts)


def _parts(content: object, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(content, list) or not all(isinstance(p, Mapping) for p in content):
        raise InvalidArgumentTypeError(
            f"{where}.content must be a string or a list of parts, not {type(content).__name__}",
            argument=f"{where}.content",
        )
    return content


def _image_url(part: Mapping[str, Any], where: str) -> tuple[str, str | None]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str):
        raise _untranslatable(where, "an image_url part without a url")
    detail = image.get("detail") if isinstance(image, Mapping) else None
    return url, detail if isinstance(detail, str) else None


def _chat_call(call: object, where: str) -> tuple[str, str, str]:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(call, Mapping) or not isinstance(function, Mapping):
        raise _untranslatable(where, "a tool call without a function")
    name = _required_string(function, "name", where)
    arguments = function.get("arguments") or ""
    if not isinstance(arguments, str):
        raise _untranslatable(where, "arguments that are not a string")
    return name, arguments, _required_string(call, "id", where)


def _required_string(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise _untranslatable(where, f"no {key!r} string")
    return value


def _untranslatable(where: str, what: str) -> InvalidArgumentValueError:
    return InvalidArgumentValueError(f"{where} cannot be translated: {what}", argument=where)
