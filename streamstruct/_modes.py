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

Strict schemas (:func:`strict_json_schema`) make optional fields nullable (see there); a reply may
then hold ``null`` for a field whose Python type does not accept ``None``, meaning "use the
default". :func:`drop_injected_nulls` removes those nulls before validation, so the default applies.
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
from typing import (
    Annotated,
    Any,
    Final,
    ForwardRef,
    Literal,
    TypeAlias,
    TypeGuard,
    TypeVar,
    Union,
    final,
    get_args,
    get_origin,
)

from pydantic import BaseModel, TypeAdapter

from ._errors import InvalidArgumentTypeError, InvalidArgumentValueError

__all__ = [
    "JSONSource",
    "Mode",
    "ModeName",
    "RequestPlan",
    "ResponseSpec",
    "drop_injected_nulls",
    "injected_null_keys",
    "plan_request",
    "response_spec",
    "strict_json_schema",
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
```` ```json ```` block of ``content`` (see :class:`~streamstruct._mdjson.FencedJSONExtractor`)."""

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

    @property
    def name(self) -> str:
        """A name for the request: the model's, or for an iterable its item models' plus ``_list``."""
        names = "_".join(model.__name__ for model in self.models)
        return _sanitise_name(f"{names}_list" if self.iterable else names)


def response_spec(response_model: object) -> ResponseSpec:
    """Read a response model: a pydantic model class, ``Iterable[M]`` or ``Iterable[A | B | ...]``.

    Raises :class:`~streamstruct.InvalidArgumentTypeError` (a ``TypeError``) for anything else, including a model whose schema is not an object (a
    ``RootModel`` of a list, say): tools and JSON modes all need an object at the root.
    """
    if isinstance(response_model, ResponseSpec):
        return response_model
    if _is_model(response_model):
        if not _describes_an_object(response_model):
            raise InvalidArgumentTypeError(
                f"{response_model.__name__}'s JSON schema is not an object; a response_model must "
                "describe a JSON object (use Iterable[Item] for a list of items)",
                argument="response_model",
            )
        return ResponseSpec(models=(response_model,), iterable=False, item_type=response_model)
    if get_origin(response_model) is collections.abc.Iterable:
        args = get_args(response_model)
        models = _union_models(args[0]) if args else ()
        if models:
            return ResponseSpec(models=models, iterable=True, item_type=args[0])
    raise InvalidArgumentTypeError(
        f"response_model must be a pydantic model class, Iterable[Model] or "
        f"Iterable[ModelA | ModelB], not {response_model!r}",
        argument="response_model",
    )


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
        resolved = _resolve(schema, ref)
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


# -- strict schemas ----------------------------------------------------------------------------

# Keywords that only annotate: a schema made of these alone accepts anything, null included.
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
)


def strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` made valid for OpenAI's strict Structured Outputs.

    Follows openai-python's ``to_strict_json_schema`` (``openai/lib/_pydantic.py``) and goes
    further where that one leaves schemas the API rejects:

    - every object gets ``additionalProperties: false`` and lists all its properties in
      ``required`` (as openai-python does); an object with free-form keys (a ``dict`` field,
      ``additionalProperties`` true or a schema) cannot be expressed and raises ``ValueError``;
    - a property that was optional (it has a default) and does not already accept ``null`` becomes
      ``anyOf: [<schema>, {"type": "null"}]``: the model sends ``null`` where it would have left
      the field out, and :func:`drop_injected_nulls` turns that back into "absent" so the pydantic
      default applies (openai-python instead makes the model always write a value). Except a
      ``const`` (a one-value ``Literal``): often a union's tag, which pydantic needs present;
    - every ``default`` is removed (openai-python removes only ``default: null``; the API rejects
      the others: "'default' is not permitted", openai/openai-agents-python#4390);
    - a ``$ref`` with sibling keywords is inlined, the siblings winning (as openai-python does);
      the root ``$ref`` of a recursive model too, so the root is an object;
    - a one-entry ``allOf`` is merged into its parent (as openai-python does);
    - ``oneOf`` becomes ``anyOf`` and ``discriminator`` is dropped: pydantic writes them for tagged
      unions, strict mode supports neither. Lossy only in theory: the tags already make the
      branches exclusive.

    Left as they are, as openai-python leaves them: constraints the API may refuse for some models
    (``minLength``, ``maxLength``, ``uniqueItems``, ``prefixItems`` of tuples, ``patternProperties``)
    and unconstrained ``Any`` fields (``{}``), which strict mode does not accept. Whatever the
    schema says, the reply is still validated by pydantic on our side.
    """
    root = copy.deepcopy(dict(schema))
    return _strict(root, root, "#")


def _strict(node: object, root: dict[str, Any], path: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise TypeError(f"{path}: expected a JSON schema object, got {type(node).__name__}")
    for defs_key in ("$defs", "definitions"):
        defs = node.get(defs_key)
        if isinstance(defs, dict):
            for name, definition in defs.items():
                defs[name] = _strict(definition, root, f"{path}/{defs_key}/{name}")

    node.pop("default", None)
    node.pop("discriminator", None)
    if "oneOf" in node and "anyOf" not in node:
        node["anyOf"] = node.pop("oneOf")

    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        resolved = _resolve(root, ref)
        merged = {**copy.deepcopy(resolved), **{k: v for k, v in node.items() if k != "$ref"}}
        # The definition was made strict already, the merged siblings were not.
        return _strict(merged, root, path)

    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            del node["allOf"]
            node.update(_strict(all_of[0], root, f"{path}/allOf/0"))
        else:
            node["allOf"] = [_strict(s, root, f"{path}/allOf/{i}") for i, s in enumerate(all_of)]
    for key in ("anyOf", "prefixItems"):
        entries = node.get(key)
        if isinstance(entries, list):
            node[key] = [_strict(s, root, f"{path}/{key}/{i}") for i, s in enumerate(entries)]
    items = node.get("items")
    if isinstance(items, dict):
        node["items"] = _strict(items, root, f"{path}/items")

    properties = node.get("properties")
    if isinstance(properties, dict):
        required = node.get("required")
        was_required = set(required) if isinstance(required, list) else set()
        strict_properties = {}
        for key, subschema in properties.items():
            strict_sub = _strict(subschema, root, f"{path}/properties/{key}")
            if (
                key not in was_required
                and not _is_const(strict_sub)
                and not _admits_null(strict_sub, root)
            ):
                strict_sub = _nullable(strict_sub)
            strict_properties[key] = strict_sub
        node["properties"] = strict_properties
        node["required"] = list(strict_properties)
    if node.get("type") == "object" or isinstance(properties, dict):
        extra = node.get("additionalProperties", False)
        if extra is not False:
            raise ValueError(
                f"{path}: an object with free-form keys (a dict field) cannot be expressed in "
                "strict mode, which requires additionalProperties: false; use strict=False, or "
                "Mode.JSON / Mode.MD_JSON"
            )
        node["additionalProperties"] = False
    return node


def _is_const(schema: dict[str, Any]) -> bool:
    # A one-value Literal with a default (``kind: Literal["cat"] = "cat"``) is often a union's
    # discriminator, which pydantic needs present: it stays required and non-null. Nothing is lost,
    # the model can only write the one value. Mirrored by ``_is_single_literal``.
    return "const" in schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # Title and description stay on the outside, where pydantic puts them for Optional fields.
    outer: dict[str, Any] = {
        key: schema.pop(key) for key in ("title", "description") if key in schema
    }
    outer["anyOf"] = [schema, {"type": "null"}]
    return outer


def _admits_null(schema: object, root: dict[str, Any], depth: int = 0) -> bool:
    if not isinstance(schema, dict) or depth > 32:  # a reference cycle: give up, add the null
        return False
    if set(schema) <= _ANNOTATIONS:
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "const" in schema and schema["const"] is None:
        return True
    enum_values = schema.get("enum")
    if isinstance(enum_values, list) and None in enum_values:
        return True
    for key in ("anyOf", "oneOf"):
        entries = schema.get(key)
        if isinstance(entries, list) and any(_admits_null(s, root, depth + 1) for s in entries):
            return True
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _admits_null(_resolve(root, ref), root, depth + 1)
    return False


def _resolve(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref!r}: only local references (#/...) can be inlined")
    node: object = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"$ref {ref!r} does not resolve")
        node = node[part]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} resolves to {type(node).__name__}, expected an object")
    return node


# -- injected nulls ----------------------------------------------------------------------------


def injected_null_keys(model: type[BaseModel]) -> frozenset[str]:
    """The JSON keys of ``model`` whose ``null`` a strict schema allowed only to mean "absent".

    That is, the fields with a default whose type does not accept ``None``. Drop such a key when
    its value is ``null`` (before validation, or before building a partial object) and the
    field's default applies.
    """
    return _model_fields(model)[1]


def injects_nulls(annotation: Any) -> bool:
    """Whether a value of ``annotation`` can hold a key :func:`drop_injected_nulls` would drop:
    whether any model reachable from it has a field in :func:`injected_null_keys`. When not,
    dropping changes nothing and can be skipped."""
    return _injects_nulls(annotation, set())


def _injects_nulls(annotation: Any, seen: set[int]) -> bool:
    if _is_type_alias(annotation):
        if id(annotation) in seen:
            return False  # a recursive alias (``type Tree = list[Tree] | int``): answered above
        seen.add(id(annotation))
    annotation = _unwrap(annotation)
    if isinstance(annotation, str | ForwardRef):
        return True  # not resolved: assume the worst
    if _has_fields(annotation):
        if id(annotation) in seen:
            return False  # a recursive model: answered where it was first met
        seen.add(id(annotation))
        annotations, droppable = _model_fields(annotation)
        return bool(droppable) or any(_injects_nulls(a, seen) for a in annotations.values())
    if get_origin(annotation) is Literal:
        return False
    return any(_injects_nulls(arg, seen) for arg in get_args(annotation) if arg is not Ellipsis)


def drop_injected_nulls(value: Any, annotation: Any) -> Any:
    """``value`` without the ``null`` values a strict schema injected, at any depth.

    ``annotation`` is what ``value`` validates against (a model, ``list[Model]``, a union, ...).
    The walk follows the annotation into models, lists, tuples, sets, dicts and unions; for a
    union of models the first model whose fields hold all the value's keys (and whose ``Literal``
    fields match) is followed. Values are copied where something changes, never mutated.
    """
    if not isinstance(value, dict | list):
        return value  # a string, number, bool or null: nothing inside to drop (most calls)
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if isinstance(value, dict):
        if _has_fields(annotation):
            return _drop_in_object(value, annotation)
        if origin in (Union, types.UnionType):
            chosen = _choose_model(value, get_args(annotation))
            return value if chosen is None else _drop_in_object(value, chosen)
        if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
            args = get_args(annotation)
            if len(args) == 2:
                return {k: drop_injected_nulls(v, args[1]) for k, v in value.items()}
        return value
    if isinstance(value, list):
        if origin in (Union, types.UnionType):
            for option in get_args(annotation):
                if get_origin(_unwrap(option)) in _SEQUENCE_ORIGINS:
                    return drop_injected_nulls(value, option)
            return value
        args = get_args(annotation)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return [drop_injected_nulls(v, t) for v, t in zip(value, args, strict=False)] + value[
                len(args) :
            ]
        if origin in _SEQUENCE_ORIGINS and args:
            return [drop_injected_nulls(v, args[0]) for v in value]
    return value


_SEQUENCE_ORIGINS: Final = frozenset(
    {
        list,
        tuple,
        set,
        frozenset,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Set,
        collections.abc.MutableSet,
        collections.abc.Iterable,
    }
)


def _drop_in_object(value: dict[str, Any], model: type) -> dict[str, Any]:
    annotations, droppable = _model_fields(model)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            if key not in droppable:
                result[key] = item
        elif key in annotations:
            result[key] = drop_injected_nulls(item, annotations[key])
        else:
            result[key] = item
    return result


def _choose_model(value: dict[str, Any], options: tuple[Any, ...]) -> type | None:
    for option in options:
        option = _unwrap(option)
        if not _has_fields(option):
            continue
        annotations, _ = _model_fields(option)
        if not value.keys() <= annotations.keys():
            continue
        if all(_literal_fits(value[key], annotations[key]) for key in value):
            return option  # type: ignore[no-any-return]
    return None


def _literal_fits(item: object, annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    if item is None or get_origin(annotation) is not Literal:
        return True
    return item in get_args(annotation)


# Bounded: models made on the fly (pydantic.create_model per request) must not pile up here.
@functools.lru_cache(maxsize=512)
def _model_fields(model: type) -> tuple[dict[str, Any], frozenset[str]]:
    """(JSON key → annotation, keys whose null was injected) for a model or pydantic dataclass."""
    annotations: dict[str, Any] = {}
    droppable = set()
    fields = getattr(model, "__pydantic_fields__", {})
    for name, info in fields.items():
        # The key the JSON schema uses: validation mode, by alias.
        alias = info.validation_alias
        key = alias if isinstance(alias, str) else (info.alias or name)
        annotations[key] = info.annotation
        if (
            not info.is_required()
            and not _admits_none(info.annotation)
            and not _is_single_literal(info.annotation)
        ):
            droppable.add(key)
    return annotations, frozenset(droppable)


def _admits_none(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    if annotation is Any or annotation is object or annotation is None or annotation is type(None):
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_admits_none(arg) for arg in get_args(annotation))
    if origin is Literal:
        return None in get_args(annotation)
    # A TypeVar left unbound is validated as Any by pydantic.
    return isinstance(annotation, TypeVar)


def _is_single_literal(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    return get_origin(annotation) is Literal and len(get_args(annotation)) == 1


def _unwrap(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_type_alias(annotation):
            annotation = annotation.__value__
        else:
            return annotation


def _is_type_alias(annotation: Any) -> bool:
    return hasattr(annotation, "__value__") and type(annotation).__name__ == "TypeAliasType"


def _has_fields(annotation: Any) -> bool:
    return isinstance(annotation, type) and isinstance(
        getattr(annotation, "__pydantic_fields__", None), dict
    )


def _is_model(value: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _union_models(annotation: Any) -> tuple[type[BaseModel], ...]:
    annotation = _unwrap(annotation)
    if _is_model(annotation):
        return (annotation,)
    if get_origin(annotation) in (Union, types.UnionType):
        options = [_unwrap(arg) for arg in get_args(annotation)]
        if options and all(_is_model(option) for option in options):
            return tuple(options)
    return ()
