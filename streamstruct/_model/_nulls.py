"""Injected nulls: the ``null`` values a strict schema allowed only to mean "absent".

Model layer. A strict schema (:func:`streamstruct._request._schemas.strict_json_schema`) makes every
optional field nullable, so a reply may hold ``null`` for a field whose Python type does not accept
``None``, meaning "use the default". :func:`drop_injected_nulls` removes those nulls before
validation, so the default applies; :func:`injected_null_keys` names them per model (the type tree
drops them while building partial objects); :func:`injects_nulls` says when there is nothing to drop.
"""

from __future__ import annotations

import collections.abc
import functools
import types
from typing import Any, Final, ForwardRef, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from ._types import has_fields, is_type_alias, unwrap

__all__ = ["drop_injected_nulls", "injected_null_keys", "injects_nulls"]


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
    if is_type_alias(annotation):
        if id(annotation) in seen:
            return False  # a recursive alias (``type Tree = list[Tree] | int``): answered above
        seen.add(id(annotation))
    annotation = unwrap(annotation)
    if isinstance(annotation, str | ForwardRef):
        return True  # not resolved: assume the worst
    if has_fields(annotation):
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
    annotation = unwrap(annotation)
    origin = get_origin(annotation)
    if isinstance(value, dict):
        if has_fields(annotation):
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
                if get_origin(unwrap(option)) in _SEQUENCE_ORIGINS:
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
        option = unwrap(option)
        if not has_fields(option):
            continue
        annotations, _ = _model_fields(option)
        if not value.keys() <= annotations.keys():
            continue
        if all(_literal_fits(value[key], annotations[key]) for key in value):
            return option  # type: ignore[no-any-return]
    return None


def _literal_fits(item: object, annotation: Any) -> bool:
    annotation = unwrap(annotation)
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
    annotation = unwrap(annotation)
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
    annotation = unwrap(annotation)
    return get_origin(annotation) is Literal and len(get_args(annotation)) == 1
