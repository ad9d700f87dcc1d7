"""What a pydantic core schema or a type annotation says, for the node tree (streamstruct._model._nodes).

Model layer; plain functions of schemas and annotations, no node in them: whether validating a
value again gives it back unchanged (:func:`is_idempotent`), whether a field's validators read
``info.data`` (:func:`reads_data`), and the annotation of a container's member
(:func:`item_annotation`).
"""

from __future__ import annotations

import collections.abc
import types
from typing import Annotated, Any, Final, Union, get_args, get_origin

__all__ = ["is_hashable", "is_idempotent", "item_annotation", "reads_data"]


def is_idempotent(schema: Any, by_ref: dict[str, Any]) -> bool:
    """Whether validating again a value that went through ``schema`` gives it back as it is: no
    Python function validates anywhere in it (pydantic's own steps - types, constraints, lax
    coercion - give a valid value back unchanged), and its models take their instances as they
    are (``revalidate_instances='never'``, the default: what is inside them is not looked at).

    Then a value made of members already validated one by one need not be validated from its
    JSON again: the list of a table's rows, the final object (see ``PartialAssembler``).
    """
    todo = [schema]
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        kind = node.get("type")
        if not isinstance(kind, str) or kind.startswith("function") or kind == "custom-error":
            return False
        if kind == "generator":
            return False  # an Iterable's value is a lazy iterator, used up by whoever reads it
        if kind == "definition-ref":
            ref = node.get("schema_ref")
            if ref not in seen:
                seen.add(ref)
                target = by_ref.get(ref)
                if target is None:
                    return False
                todo.append(target)
            continue
        if kind == "model":
            config = node.get("config") or {}
            revalidate = node.get("revalidate_instances", config.get("revalidate_instances"))
            if revalidate not in (None, "never") or node.get("root_model"):
                return False
            continue  # an instance is taken as it is: its fields are not validated again
        for key, child in node.items():
            if key in ("metadata", "serialization", "cls", "config", "ref", "default_factory"):
                continue
            if callable(child) and not isinstance(child, type):
                # A Python function in the schema (a callable Discriminator) would be handed the
                # validated members, not the JSON values it was written for.
                return False
            todo.extend(_sub_schemas(child))
    return True


def _sub_schemas(value: Any) -> list[Any]:
    """The core schemas in a schema's entry: a schema, a list of them (or of (schema, label)
    pairs, a union's choices), or a mapping of them (a tagged union's choices)."""
    if isinstance(value, dict):
        if "type" in value:
            return [value]
        return [v for v in value.values() if isinstance(v, dict) and "type" in v]
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for item in value:
            out += _sub_schemas(item)
        return out
    return []


def reads_data(schema: Any) -> bool:
    """Whether a field's own validators take ``info`` (and so may read ``info.data``)."""
    while True:
        kind = schema.get("type")
        if kind in ("default", "nullable"):
            schema = schema["schema"]
        elif kind in ("function-before", "function-after", "function-wrap", "function-plain"):
            if schema.get("function", {}).get("type") == "with-info":
                return True
            if kind == "function-plain":
                return False
            schema = schema["schema"]
        else:
            return False


def _unwrap_annotation(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        elif type(annotation).__name__ == "TypeAliasType" and hasattr(annotation, "__value__"):
            annotation = annotation.__value__
        else:
            return annotation


_MAPPINGS: Final = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})


def item_annotation(annotation: Any, key: str | int) -> Any:
    """The annotation of the member at ``key`` of a container annotated ``annotation``."""
    annotation = _unwrap_annotation(annotation)
    args = get_args(annotation)
    origin = get_origin(annotation)
    if not args or origin is None:
        return Any
    if origin in _MAPPINGS:
        return args[1] if len(args) == 2 else Any
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[key] if isinstance(key, int) and key < len(args) else Any
    return args[0]


def is_hashable(value: Any) -> bool:
    """Whether ``value`` may be looked up in a dict (a tagged union's tag)."""
    try:
        hash(value)
    except TypeError:
        return False
    return True
