"""What a chat-completions request asks for, read once from its JSON body (sans-I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["_Ask", "_BadRequest", "_asks_for_items", "_read_ask"]


class _BadRequest(Exception):
    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class _Ask:
    """What the request asks for, read once from its body."""

    model: str
    stream: bool
    include_usage: bool
    include_obfuscation: bool
    seed: int | None
    tool_name: str | None  # None: answer in content
    tool_choice_named: bool
    parallel_tool_calls: bool
    schema: Mapping[str, Any] | bool | None
    prompt_tokens: int


def _read_ask(request: Mapping[str, Any]) -> _Ask:
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("you must provide a model parameter", param="model")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    stream_options = request.get("stream_options")
    if not isinstance(stream_options, Mapping):
        stream_options = {}
    tool, named = _chosen_tool(request)
    schema: Mapping[str, Any] | bool | None
    if tool is not None:
        function = tool.get("function") or {}
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        tool_name = str(function.get("name", "function"))
    else:
        tool_name = None
        schema = _schema_for_content(request.get("response_format"), messages)
    seed = request.get("seed")
    return _Ask(
        model=model,
        stream=request.get("stream") is True,
        include_usage=bool(stream_options.get("include_usage")),
        include_obfuscation=stream_options.get("include_obfuscation", True) is not False,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        tool_name=tool_name,
        tool_choice_named=named,
        parallel_tool_calls=request.get("parallel_tool_calls", True) is not False,
        schema=schema,
        prompt_tokens=max(1, len(json.dumps(messages)) // 4),
    )


def _chosen_tool(request: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, bool]:
    """The tool the answer must call (``None``: answer in content), and whether
    ``tool_choice`` named it."""
    tools = [t for t in request.get("tools") or () if isinstance(t, Mapping)]
    tool_choice = request.get("tool_choice", "auto" if tools else "none")
    named = isinstance(tool_choice, Mapping)
    if not tools or tool_choice == "none":
        return None, named
    if not named:
        return tools[0], named
    wanted = (tool_choice.get("function") or {}).get("name")
    tool = next((t for t in tools if (t.get("function") or {}).get("name") == wanted), None)
    if tool is None:
        raise _BadRequest(
            f"Invalid value for 'tool_choice': no function named {wanted!r} was "
            "specified in the 'tools' parameter.",
            param="tool_choice",
        )
    return tool, named


def _schema_for_content(
    response_format: object, messages: Sequence[object]
) -> Mapping[str, Any] | bool | None:
    """The schema a content answer must follow: from ``response_format``, else from the prompt.

    JSON mode (``json_object``) and prompt-only modes (Markdown JSON) put the schema in a
    message; the first JSON object in a system/developer message, then a user message, that looks
    like a schema is taken. No schema at all gives ``None`` and the answer ``{}``.
    """
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema") or {}
        schema = json_schema.get("schema")
        return schema if isinstance(schema, (Mapping, bool)) else {}
    texts: list[str] = []
    for roles in (("system", "developer"), ("user",)):
        for message in messages:
            if isinstance(message, Mapping) and message.get("role") in roles:
                texts.extend(_texts(message.get("content")))
    for text in texts:
        found = _embedded_schema(text)
        if found is not None:
            return found
    return None


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        ]
    return []


_SCHEMA_KEYS: Final = frozenset({"properties", "$defs", "definitions", "anyOf", "oneOf", "$schema"})


def _embedded_schema(text: str) -> Mapping[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict) and (value.keys() & _SCHEMA_KEYS or "type" in value):
                return value
        start = text.find("{", start + 1)
    return None


def _asks_for_items(ask: _Ask) -> bool:
    """Whether a tools request asks for a list as parallel calls, one item per call.

    That is what a client asks when its tool is the item's schema (no ``items`` property of its
    own) and any number of calls is welcome (``tool_choice`` not naming one function).
    """
    if ask.tool_choice_named or not ask.parallel_tool_calls:
        return False
    properties = ask.schema.get("properties") if isinstance(ask.schema, Mapping) else None
    return not (isinstance(properties, Mapping) and "items" in properties)
