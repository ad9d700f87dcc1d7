"""What a Responses API or Anthropic Messages request asks for, read into the same :class:`_Ask`
as a chat-completions request (sans-I/O).

Each API puts the same wishes in other places (docs/dialects.md has the tables):

- Responses: prompts in ``instructions`` and ``input`` (a string or items); flat function tools
  (``tools[].name``/``parameters``), ``tool_choice`` ``"auto"``/``"required"``/``"none"`` or
  ``{"type": "function", "name"}``; a schema for text in ``text.format`` (``json_schema``).
- Anthropic: ``system`` and ``messages``, ``max_tokens`` required; tools with ``input_schema``,
  ``tool_choice`` ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", "name"}`` (with
  ``disable_parallel_tool_use``); a schema for text in ``output_config.format``.

Neither has ``stream_options``: usage is always reported, so ``include_usage`` is off here (the
renderers send it anyway, where each API does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._ask import _Ask, _BadRequest, _schema_for_content

__all__ = ["_Api", "_read_anthropic_ask", "_read_responses_ask"]

_Api: TypeAlias = Literal["chat", "responses", "anthropic"]

_DEFAULT_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def _read_responses_ask(request: Mapping[str, Any]) -> _Ask:
    model = _model(request, "Missing required parameter: 'model'.")
    items = request.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise _BadRequest(
            "Missing required parameter: 'input'.",
            param="input",
            code="missing_required_parameter",
        )
    messages = _with_system(request.get("instructions"), items)
    tools = [t for t in request.get("tools") or () if isinstance(t, Mapping)]
    functions = [t for t in tools if t.get("type", "function") == "function"]
    choice = request.get("tool_choice", "auto" if functions else "none")
    named = isinstance(choice, Mapping)
    wanted = choice.get("name") if isinstance(choice, Mapping) else None
    tool = _pick_tool(functions, choice != "none", wanted, param="tool_choice")
    text_format = (request.get("text") or {}).get("format")
    response_format = None
    if isinstance(text_format, Mapping) and text_format.get("type") == "json_schema":
        response_format = {"type": "json_schema", "json_schema": text_format}
    return _ask(
        request,
        model,
        messages,
        tool=tool,
        schema_key="parameters",
        named=named,
        parallel=request.get("parallel_tool_calls", True) is not False,
        response_format=response_format,
    )


def _read_anthropic_ask(request: Mapping[str, Any]) -> _Ask:
    model = _model(request, "model: Field required")
    max_tokens = request.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _BadRequest("max_tokens: Field required", param="max_tokens")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("messages: Field required", param="messages")
    tools = [t for t in request.get("tools") or () if isinstance(t, Mapping)]
    choice = request.get("tool_choice") or {"type": "auto"}
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    wanted = choice.get("name") if kind == "tool" else None
    tool = _pick_tool(tools, kind != "none", wanted, param="tool_choice.name")
    output_format = (request.get("output_config") or {}).get("format")
    response_format = None
    if isinstance(output_format, Mapping) and output_format.get("type") == "json_schema":
        response_format = {"type": "json_schema", "json_schema": output_format}
    return _ask(
        request,
        model,
        _with_system(request.get("system"), messages),
        tool=tool,
        schema_key="input_schema",
        named=kind == "tool",
        parallel=not (isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use")),
        response_format=response_format,
    )


def _model(request: Mapping[str, Any], missing: str) -> str:
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest(missing, param="model")
    return model


def _with_system(system: object, messages: Sequence[object]) -> list[object]:
    """The messages in chat shape for the prompt-schema search: ``instructions``/``system``
    (a string or text blocks) first, as a system message."""
    if isinstance(system, (str, list)) and system:
        return [{"role": "system", "content": system}, *messages]
    return list(messages)


def _pick_tool(
    tools: Sequence[Mapping[str, Any]], allowed: bool, wanted: object, *, param: str
) -> Mapping[str, Any] | None:
    """The tool the answer calls: the one named, else the first; ``None`` answers in text."""
    if not tools or not allowed:
        return None
    if wanted is None:
        return tools[0]
    tool = next((t for t in tools if t.get("name") == wanted), None)
    if tool is None:
        raise _BadRequest(f"Tool {wanted!r} named in tool_choice is not in 'tools'.", param=param)
    return tool


def _ask(
    request: Mapping[str, Any],
    model: str,
    messages: Sequence[object],
    *,
    tool: Mapping[str, Any] | None,
    schema_key: str,
    named: bool,
    parallel: bool,
    response_format: object,
) -> _Ask:
    schema: Mapping[str, Any] | bool | None
    if tool is not None:
        schema = tool.get(schema_key) or _DEFAULT_PARAMETERS
        tool_name: str | None = str(tool.get("name", "function"))
    else:
        schema = _schema_for_content(response_format, messages)
        tool_name = None
    return _Ask(
        model=model,
        stream=request.get("stream") is True,
        include_usage=False,
        include_obfuscation=False,
        seed=None,
        tool_name=tool_name,
        tool_choice_named=named,
        parallel_tool_calls=parallel,
        schema=schema,
        prompt_tokens=max(1, len(json.dumps(messages)) // 4),
    )
