"""Strict JSON schemas: a pydantic schema made valid for OpenAI's strict Structured Outputs.

Request layer, sans-I/O: plain dicts in, plain dicts out. :func:`strict_json_schema` is what
``strict=True`` (the default in ``JSON_SCHEMA`` mode) sends; :func:`resolve_ref` follows a local
``$ref``, which request planning needs too. The nulls a strict schema injects for optional fields
are removed again on the model side, by :mod:`streamstruct._model._nulls`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["resolve_ref", "strict_json_schema"]

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
        resolved = resolve_ref(root, ref)
        merged = {**copy.deepcopy(resolved), **{k: v for k, v in node.items() if k != "$ref"}}
        # The definition was made strict already, the merged siblings were not.
        return _strict(merged, root, path)

    _strict_subschemas(node, root, path)
    properties = node.get("properties")
    if isinstance(properties, dict):
        _strict_properties(node, properties, root, path)
    if node.get("type") == "object" or isinstance(properties, dict):
        _close_object(node, path)
    return node


def _strict_subschemas(node: dict[str, Any], root: dict[str, Any], path: str) -> None:
    """``allOf`` (a one-entry one merged into ``node``), ``anyOf``, ``prefixItems`` and ``items``
    made strict in place."""
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


def _strict_properties(
    node: dict[str, Any], properties: dict[str, Any], root: dict[str, Any], path: str
) -> None:
    """Every property made strict and required, an optional one nullable (see the module doc)."""
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


def _close_object(node: dict[str, Any], path: str) -> None:
    extra = node.get("additionalProperties", False)
    if extra is not False:
        raise ValueError(
            f"{path}: an object with free-form keys (a dict field) cannot be expressed in "
            "strict mode, which requires additionalProperties: false; use strict=False, or "
            "Mode.JSON / Mode.MD_JSON"
        )
    node["additionalProperties"] = False


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
        return _admits_null(resolve_ref(root, ref), root, depth + 1)
    return False


def resolve_ref(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
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
