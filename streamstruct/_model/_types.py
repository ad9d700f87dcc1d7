"""Type introspection shared by request planning and null handling: annotations seen through
``Annotated`` and type aliases, pydantic models and unions of them.

Model layer (it knows pydantic's ``BaseModel``); imports nothing else of the package.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["has_fields", "is_model", "is_type_alias", "union_models", "unwrap"]


def unwrap(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif is_type_alias(annotation):
            annotation = annotation.__value__
        else:
            return annotation


def is_type_alias(annotation: Any) -> bool:
    return hasattr(annotation, "__value__") and type(annotation).__name__ == "TypeAliasType"


def has_fields(annotation: Any) -> bool:
    return isinstance(annotation, type) and isinstance(
        getattr(annotation, "__pydantic_fields__", None), dict
    )


def is_model(value: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(value, type) and issubclass(value, BaseModel)


def union_models(annotation: Any) -> tuple[type[BaseModel], ...]:
    annotation = unwrap(annotation)
    if is_model(annotation):
        return (annotation,)
    if get_origin(annotation) in (Union, types.UnionType):
        options = [unwrap(arg) for arg in get_args(annotation)]
        if options and all(is_model(option) for option in options):
            return tuple(options)
    return ()
