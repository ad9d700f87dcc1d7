"""Modes: how each one shapes the request, and where its JSON text comes from.

Sans-I/O and HTTP-free: :func:`plan_request` turns a response model and the caller's messages into
a :class:`RequestPlan` — the request-body fields to add, the messages to send and the source of the
JSON text in the reply. Nothing here sends anything.

=============== ============================================================= ====================
mode            request                                                       JSON text comes from
=============== ============================================================= ====================
``TOOLS``       one function tool built from the model's schema, forced with  tool-call arguments
                ``tool_choice``; non-strict unless ``strict=True``
``JSON_SCHEMA`` ``response_format`` ``json_schema`` with the schema made       ``content``
                valid for OpenAI's strict mode (unless ``strict=False``)
``JSON``        ``response_format`` ``json_object`` and the schema in a        ``content``
                system message
``MD_JSON``     the schema in a system message asking for a ```` ```json ````  ``content``, inside
                block; no ``response_format``, for servers with neither tools  the fenced block
                nor JSON mode
=============== ============================================================= ====================

An "iterable" response (``Iterable[Item]``, ``Iterable[A | B]``) asks for a list of items:

- in ``TOOLS`` mode as parallel tool calls: one tool per item model (its name says which model the
  call's arguments are), ``tool_choice: "required"`` and ``parallel_tool_calls: true``; each call is
  one item. A turn with no items cannot be expressed ("required" forces at least one call);
- in the other modes as the wrapper object ``{"items": [...]}``, whose schema is
  ``{"type": "object", "properties": {"items": {"type": "array", "items": <item schema>}}}`` with the
  item models' ``$defs`` at its root (an ``anyOf`` of the models when there are several).

System messages (``JSON``, ``MD_JSON``): the instruction is appended to the first message when that
is a ``system`` (or ``developer``) message with text content, else a new system message is
prepended. The caller's list and message objects are never mutated: the plan holds copies.

Strict schemas (:func:`~streamstruct._request._schemas.strict_json_schema`, request layer) make optional
fields nullable; a reply may then hold ``null`` for a field whose Python type does not accept
``None``, meaning "use the default". The model side removes those nulls before validation
(:mod:`streamstruct._model._nulls`), so the default applies.
"""

from __future__ import annotations

import collections.abc
import copy
import enum
import functools
import json
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, final, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from .._errors import InvalidArgumentTypeError, InvalidArgumentValueError
from .._model._nulls import drop_injected_nulls
from .._model._response_types import ResponseType, classify_response_model
from .._model._types import is_model, union_models
from ._schemas import resolve_ref, strict_json_schema

__all__ = [
    "JSONSource",
    "Mode",
    "ModeName",
    "RequestPlan",
    "ResponseSpec",
    "is_iterable_annotation",
    "partial_origin",
    "plan_request",
    "response_spec",
]


class Mode(str, enum.Enum):
    """How the request asks for structured output (see the module docstring for each)."""

    TOOLS = "tools"
    JSON_SCHEMA = "json_schema"
    JSON = "json"
    MD_JSON = "md_json"


ModeName: TypeAlias = Literal["tools", "json_schema", "json", "md_json"]
"""A :class:`Mode` given by its value."""

JSONSource: TypeAlias = Literal["tool_calls", "content", "fenced_content"]
"""Where the JSON text is in the reply: tool-call arguments, ``content`` as is, or the first
```` ```json ```` block of ``content`` (see :class:`~streamstruct._core._mdjson.FencedJSONExtractor`)."""

_SOURCES: Final[dict[Mode, JSONSource]] = {
    Mode.TOOLS: "tool_calls",
    Mode.JSON_SCHEMA: "content",
    Mode.JSON: "content",
    Mode.MD_JSON: "fenced_content",
}


@final
@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """What the caller asked for: one model, or an iterable of items of one or several models.

    ``item_type`` is the annotation items are validated against (the model itself when not
    iterable; for ``Iterable[A | B]`` the union, ``Annotated`` discriminator included).
    """

    models: tuple[type[BaseModel], ...]
    iterable: bool
    item_type: Any
    # Set for any other type (``list[User]``, ``int``, ...): requested as its wrapper model
    # ``{"response": ...}`` (``models[0]``), unwrapped for the caller (see _response_types).
    wrapped: ResponseType | None = None

    @property
    def name(self) -> str:
        """A name for the request: the model's, or for an iterable its item models' plus ``_list``."""
        names = "_".join(model.__name__ for model in self.models)
        return _sanitise_name(f"{names}_list" if self.iterable else names)


def response_spec(response_model: object) -> ResponseSpec:
    """Read a response model: a pydantic model class, ``Iterable[M]`` or ``Iterable[A | B | ...]``,
    or any other type pydantic validates (``list[User]``, ``int``, ``Cat | Dog``, a ``RootModel``,
    ...), which is requested as its wrapper model ``{"response": ...}``: tools and JSON modes all
    need an object at the root.

    Raises :class:`~streamstruct.UnsupportedResponseModelError` (an
    :class:`~streamstruct.InvalidArgumentTypeError`, a ``TypeError``) for what pydantic cannot
    validate, and :class:`~streamstruct.InvalidArgumentTypeError` for ``Iterable`` of non-models.
    """
    if isinstance(response_model, ResponseSpec):
        return response_model
    if is_model(response_model) and not response_model.__pydantic_root_model__:
        if not _describes_an_object(response_model):
            raise InvalidArgumentTypeError(
                f"{response_model.__name__}'s JSON schema is not an object; a response_model must "
                "describe a JSON object (use Iterable[Item] for a list of items)",
                argument="response_model",
            )
        return ResponseSpec(models=(response_model,), iterable=False, item_type=response_model)
    if get_origin(response_model) is collections.abc.Iterable:
        args = get_args(response_model)
        models = union_models(args[0]) if args else ()
        if models:
            return ResponseSpec(models=models, iterable=True, item_type=args[0])
        raise InvalidArgumentTypeError(
            f"an Iterable response_model takes models: Iterable[Model] or "
            f"Iterable[ModelA | ModelB], not {response_model!r} (a list of other values: "
            "response_model=list[...])",
            argument="response_model",
        )
    kind = classify_response_model(response_model)  # refuses what pydantic cannot validate
    assert kind.model is not None  # neither a model nor an Iterable: wrapped
    return ResponseSpec(models=(kind.model,), iterable=False, item_type=kind.model, wrapped=kind)


@final
@dataclass(frozen=True, slots=True)
class RequestPlan:
    """What to send for one structured-output request, and how to read the reply.

    ``body`` holds the fields to add to the request body (``tools``, ``tool_choice``,
    ``parallel_tool_calls``, ``response_format``; never ``messages``); ``messages`` replaces the
    caller's messages. ``tools`` maps each tool name to the model its arguments validate against
    (``TOOLS`` mode; empty otherwise). ``strict`` says whether a strict schema was sent, in which
    case values go through :meth:`drop_injected_nulls` before validation.
    """

    mode: Mode
    spec: ResponseSpec
    source: JSONSource
    messages: tuple[dict[str, Any], ...]
    body: dict[str, Any]
    strict: bool
    tools: Mapping[str, type[BaseModel]] = field(default_factory=lambda: types.MappingProxyType({}))

    def drop_injected_nulls(self, value: Any, *, tool: str | None = None) -> Any:
        """``value`` (a whole reply, or the arguments of the tool named ``tool``) ready to validate.

        The identity when no strict schema was sent. For an iterable outside ``TOOLS`` mode the
        value is the ``{"items": [...]}`` wrapper; to prepare one item at a time, call the module's
        :func:`drop_injected_nulls` with ``spec.item_type``.
        """
        if not self.strict:
            return value
        if tool is not None:
            return drop_injected_nulls(value, self.tools[tool])
        if self.spec.iterable and isinstance(value, dict) and isinstance(value.get("items"), list):
            items = [drop_injected_nulls(item, self.spec.item_type) for item in value["items"]]
            return {**value, "items": items}
        return drop_injected_nulls(value, self.spec.item_type)


def plan_request(
    response_model: object,
    messages: Sequence[Mapping[str, Any]],
    *,
    mode: Mode | ModeName = Mode.TOOLS,
    strict: bool | None = None,
) -> RequestPlan:
    """Plan the request for ``response_model`` (see :func:`response_spec`) in ``mode``.

    ``strict`` applies to ``TOOLS`` (default ``False``: a plain schema, which every
    OpenAI-compatible server takes) and ``JSON_SCHEMA`` (default ``True``); ``strict=True`` with
    the prompt-only modes is an error. A strict schema that cannot be expressed (a ``dict`` field)
    raises ``ValueError`` naming the field.
    """
    chosen = Mode(mode)
    spec = response_spec(response_model)
    if strict is None:
        strict = chosen is Mode.JSON_SCHEMA
    elif strict and chosen not in (Mode.TOOLS, Mode.JSON_SCHEMA):
        raise InvalidArgumentValueError(
            f"strict=True applies to Mode.TOOLS and Mode.JSON_SCHEMA, not {chosen}",
            argument="strict",
        )
    body, tools, instruction = _request_parts(spec, chosen, strict)
    sent = [dict(message) for message in messages]
    if instruction is not None:
        sent = _with_instruction(sent, instruction)

    return RequestPlan(
        mode=chosen,
        spec=spec,
        source=_SOURCES[chosen],
        messages=tuple(sent),
        body=dict(body),
        strict=strict,
        tools=types.MappingProxyType(tools),
    )


_Parts = tuple[dict[str, Any], dict[str, type[BaseModel]], str | None]


def _request_parts(spec: ResponseSpec, mode: Mode, strict: bool) -> _Parts:
    """The body fields, the tools and the instruction (prompt-only modes) for ``spec`` in ``mode``.

    Made once per (spec, mode, strict): generating a model's JSON schema took ~0.6 ms, about a
    tenth of a small answer's CPU when many short streams run (benchmarks.concurrency). The result
    is shared between requests, so nothing downstream may change it (the client merges ``body``
    into a fresh dict). A spec whose annotations cannot be hashed is planned each time.
    """
    try:
        hash(spec)
    except TypeError:
        return _plan_parts(spec, mode, strict)
    return _cached_parts(spec, mode, strict)


def _plan_parts(spec: ResponseSpec, mode: Mode, strict: bool) -> _Parts:
    body: dict[str, Any] = {}
    tools: dict[str, type[BaseModel]] = {}
    instruction: str | None = None
    if mode is Mode.TOOLS:
        definitions = []
        for model in spec.models:
            name = _unique(_sanitise_name(model.__name__), tools)
            tools[name] = model
            definitions.append(_tool(name, model, strict=strict, iterable=spec.iterable))
        body["tools"] = definitions
        if spec.iterable:
            body["tool_choice"] = "required"
            body["parallel_tool_calls"] = True
        else:
            body["tool_choice"] = {"type": "function", "function": {"name": next(iter(tools))}}
    elif mode is Mode.JSON_SCHEMA:
        schema = _response_schema(spec)
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": spec.name,
                "schema": strict_json_schema(schema) if strict else schema,
                "strict": strict,
            },
        }
    else:
        if mode is Mode.JSON:
            body["response_format"] = {"type": "json_object"}
        instruction = _instruction(spec, fenced=mode is Mode.MD_JSON)
    return body, tools, instruction


# Bounded: models made on the fly (pydantic.create_model per request) must not pile up here.
_cached_parts: Final = functools.lru_cache(maxsize=512)(_plan_parts)


# -- request pieces ----------------------------------------------------------------------------

_NAME_INVALID: Final = re.compile(r"[^a-zA-Z0-9_-]")


def _sanitise_name(name: str) -> str:
    # OpenAI's rule for tool and json_schema names: [a-zA-Z0-9_-]{1,64}. Generic models are
    # named like "Page[User]", hence the replacement rather than a refusal.
    return _NAME_INVALID.sub("_", name)[:64] or "response"


def _unique(name: str, taken: Mapping[str, object]) -> str:
    # Two item models may share a name (same class name in two modules): the tool names must not.
    candidate, counter = name, 2
    while candidate in taken:
        suffix = f"_{counter}"
        candidate, counter = name[: 64 - len(suffix)] + suffix, counter + 1
    return candidate


def _tool(name: str, model: type[BaseModel], *, strict: bool, iterable: bool) -> dict[str, Any]:
    schema = _model_schema(model)
    description = schema.get("description")
    if not isinstance(description, str) or not description:
        description = f"Respond with a {model.__name__} object as this function's arguments."
    if iterable:
        description += " Call this function once for each item of the answer."
    function: dict[str, Any] = {
        "name": name,
        "description": description,
        "parameters": strict_json_schema(schema) if strict else schema,
    }
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


@functools.lru_cache(maxsize=512)  # bounded, as _cached_parts is
def _describes_an_object(model: type[BaseModel]) -> bool:
    return _model_schema(model).get("type") == "object"


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    # A recursive model's schema is {"$defs": ..., "$ref": "#/$defs/Model"}; tool parameters and
    # response formats need the object itself at the root, so the root reference is inlined.
    schema = model.model_json_schema()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved = resolve_ref(schema, ref)
        schema = {**copy.deepcopy(resolved), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _response_schema(spec: ResponseSpec) -> dict[str, Any]:
    if not spec.iterable:
        return _model_schema(spec.models[0])
    # One TypeAdapter over the whole list: pydantic names the $defs of all item models
    # consistently (two classes with the same name get distinct keys), which merging separate
    # model schemas by hand would not.
    array = TypeAdapter(list[spec.item_type]).json_schema()  # type: ignore[name-defined]
    defs = array.pop("$defs", None)
    wrapper: dict[str, Any] = {
        "type": "object",
        "title": spec.name,
        "properties": {"items": array},
        "required": ["items"],
    }
    if defs:
        wrapper["$defs"] = defs
    return wrapper


def _instruction(spec: ResponseSpec, *, fenced: bool) -> str:
    schema = json.dumps(_response_schema(spec), indent=2, ensure_ascii=False)
    lines = ["Respond with a JSON object that conforms to this JSON schema:", schema]
    if spec.iterable:
        lines.append('Put every item of the answer in the "items" array.')
    if fenced:
        lines.append("Write the JSON object inside a single ```json fenced code block.")
    else:
        lines.append("Respond with the JSON object only.")
    return "\n\n".join(lines)


def _with_instruction(messages: list[dict[str, Any]], instruction: str) -> list[dict[str, Any]]:
    if messages and messages[0].get("role") in ("system", "developer"):
        first = messages[0]
        content = first.get("content")
        if isinstance(content, str):
            messages[0] = {**first, "content": f"{content}\n\n{instruction}"}
            return messages
        if isinstance(content, list):
            messages[0] = {**first, "content": [*content, {"type": "text", "text": instruction}]}
            return messages
    return [{"role": "system", "content": instruction}, *messages]


def partial_origin(response_model: Any) -> Any:
    """The model behind ``Partial[M]`` (``M`` itself for anything else)."""
    return getattr(response_model, "__streamstruct_model__", response_model)


def is_iterable_annotation(response_model: Any) -> bool:
    try:
        return response_spec(response_model).iterable
    except TypeError:
        return False
