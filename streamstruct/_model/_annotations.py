"""Streaming annotations: ``Atomic`` and ``NotNull``, and where a model carries them.

Model layer (pydantic; no I/O). Two markers for ``Annotated[T, ...]`` on plain pydantic models:

* ``Annotated[T, Atomic]``: the value is shown in partials only once it is complete and validated:
  a ``str`` id or URL never shows half-written, a nested model or a list member appears whole or
  not at all. It may sit on a field or anywhere inside its type
  (``list[Annotated[Address, Atomic]]`` makes each address atomic, not the list).
* ``Annotated[T, NotNull]`` on a field: the object holding the field is shown (as a list member, a
  dict value or a field of its parent) only once this field has a value; a chat message appears
  once its ``role`` is known, a union member once its discriminator is. It belongs to a field, so
  it must be on the field's own annotation (``Optional[...]`` around it is fine).

:func:`stream_annotations` reads, once per model class, which fields of which models (at any depth,
through lists, tuples, sets, dicts, unions, ``Optional`` and type aliases) carry which marker. A
model with no marker anywhere gets the shared :data:`NO_ANNOTATIONS`, which is false: the
assembler tests it once per response and pays nothing more.

Positions: a marker inside a field's type is located by the steps from the field's value to it:
``()`` is the field's value itself, ``("item",)`` each member of a list (tuple, set), ``("value",)``
each value of a dict, ``("item", "value")`` each dict value of each list member, and so on. Union
members share their position: ``Optional[Annotated[str, Atomic]]`` is atomic at ``()``.
"""

from __future__ import annotations

import collections.abc
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import (
    Annotated,
    Any,
    Final,
    Literal,
    TypeAlias,
    Union,
    final,
    get_args,
    get_origin,
)

from pydantic import BaseModel

from .._errors import InvalidArgumentValueError
from ._once import OncePerKey
from ._types import is_type_alias

__all__ = [
    "NO_ANNOTATIONS",
    "Atomic",
    "ModelAnnotations",
    "NotNull",
    "Position",
    "Step",
    "StreamAnnotations",
    "StreamMarker",
    "stream_annotations",
]


@final
class StreamMarker:
    """A streaming marker for ``Annotated[T, ...]``; there are two, :data:`Atomic` and
    :data:`NotNull`. Compared by identity; pickled by name (so a model that carries one pickles)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"streamstruct.{self.name}"

    def __reduce__(self) -> str:
        return self.name  # the module-level name: unpickles as the same object


Atomic: Final = StreamMarker("Atomic")
"""``Annotated[T, Atomic]``: shown in partials only once complete and validated."""

NotNull: Final = StreamMarker("NotNull")
"""``Annotated[T, NotNull]`` on a field: its object is shown only once this field has a value."""

Step: TypeAlias = Literal["item", "value"]
"""Into each member of a list, tuple or set (``"item"``), or each value of a dict (``"value"``)."""

Position: TypeAlias = tuple[Step, ...]
"""Where inside a field's value a marker sits; ``()`` is the value itself."""


@final
@dataclass(frozen=True, slots=True)
class ModelAnnotations:
    """The markers on one model's fields.

    ``atomic`` maps a field (attribute name) to the positions inside its value that are atomic;
    ``not_null`` holds the fields the model's objects wait for; ``json_keys`` gives the JSON key
    (the validation alias, else the alias, else the name) of every field listed, as the parser
    reports keys as written.
    """

    atomic: Mapping[str, frozenset[Position]]
    not_null: frozenset[str]
    json_keys: Mapping[str, str]

    def is_atomic(self, name: str, position: Position = ()) -> bool:
        positions = self.atomic.get(name)
        return positions is not None and position in positions


@final
@dataclass(frozen=True, slots=True)
class StreamAnnotations:
    """Every marked model reachable from a response model: ``models`` maps each model class that
    has at least one marked field to its :class:`ModelAnnotations`. False when nothing is marked."""

    models: Mapping[type[BaseModel], ModelAnnotations] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.models)

    def of(self, model: type[BaseModel]) -> ModelAnnotations | None:
        """The markers on ``model``'s fields, or None when it has none."""
        return self.models.get(model)

    def entries(self) -> Iterator[tuple[type[BaseModel], str, Position, StreamMarker]]:
        """Every (model, field, position, marker), flat: for tests, logs and documentation."""
        for model, marks in self.models.items():
            for name, positions in marks.atomic.items():
                for position in sorted(positions):
                    yield model, name, position, Atomic
            for name in sorted(marks.not_null):
                yield model, name, (), NotNull


NO_ANNOTATIONS: Final = StreamAnnotations(types.MappingProxyType({}))
"""What :func:`stream_annotations` returns when nothing is marked (false, shared)."""

_cache: Final[OncePerKey[type[BaseModel], StreamAnnotations]] = OncePerKey()


def stream_annotations(model: type[BaseModel]) -> StreamAnnotations:
    """Which fields of ``model`` and of every model it nests carry :data:`Atomic` or
    :data:`NotNull`, and where. Computed once per model class (then a dictionary lookup).

    Raises :class:`~streamstruct.InvalidArgumentValueError` (argument ``response_model``) for a
    ``NotNull`` placed inside a field's type rather than on the field, naming the field.
    """
    return _cache.get(model, _scan)


def _scan(root: type[BaseModel]) -> StreamAnnotations:
    # An explicit worklist of models, each read once: a model that nests itself ends the walk.
    found: dict[type[BaseModel], ModelAnnotations] = {}
    seen: set[type[BaseModel]] = {root}
    pending = [root]
    while pending:
        model = pending.pop()
        marks, nested = _scan_model(model)
        if marks is not None:
            found[model] = marks
        for inner in nested:
            if inner not in seen:
                seen.add(inner)
                pending.append(inner)
    if not found:
        return NO_ANNOTATIONS
    return StreamAnnotations(types.MappingProxyType(found))


def _scan_model(
    model: type[BaseModel],
) -> tuple[ModelAnnotations | None, list[type[BaseModel]]]:
    """The markers on ``model``'s own fields, and the models its fields' types mention."""
    if not model.__pydantic_complete__:
        model.model_rebuild(raise_errors=True)
    atomic: dict[str, frozenset[Position]] = {}
    not_null: set[str] = set()
    keys: dict[str, str] = {}
    nested: list[type[BaseModel]] = []
    for name, info in model.model_fields.items():
        # pydantic moves the field's own Annotated metadata to ``metadata``; what is inside the
        # type (list[Annotated[str, Atomic]]) stays in ``annotation``.
        marks: list[tuple[StreamMarker, Position]] = [
            (mark, ()) for mark in info.metadata if isinstance(mark, StreamMarker)
        ]
        marks.extend(_marks_in(info.annotation, nested))
        if not marks:
            continue
        for mark, position in marks:
            if mark is NotNull and position:
                raise InvalidArgumentValueError(
                    f"{model.__name__}.{name}: NotNull belongs on the field's own annotation "
                    f"(Annotated[T, NotNull]), not inside its type (found at {_shown(position)})",
                    argument="response_model",
                )
        atomic_at = frozenset(position for mark, position in marks if mark is Atomic)
        if atomic_at:
            atomic[name] = atomic_at
        if any(mark is NotNull for mark, _ in marks):
            not_null.add(name)
        alias = info.validation_alias if isinstance(info.validation_alias, str) else None
        keys[name] = alias or info.alias or name
    if not atomic and not not_null:
        return None, nested
    return ModelAnnotations(atomic, frozenset(not_null), keys), nested


_SEQUENCES: Final = frozenset(
    {
        list,
        tuple,
        set,
        frozenset,
        collections.deque,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Set,
        collections.abc.MutableSet,
        collections.abc.Collection,
        collections.abc.Iterable,
    }
)
_MAPPINGS: Final = frozenset(
    {dict, collections.OrderedDict, collections.abc.Mapping, collections.abc.MutableMapping}
)


def _marks_in(
    annotation: Any, nested: list[type[BaseModel]]
) -> list[tuple[StreamMarker, Position]]:
    """The markers inside a field's type with their positions; models met go to ``nested``."""
    marks: list[tuple[StreamMarker, Position]] = []
    pending: list[tuple[Any, Position]] = [(annotation, ())]
    seen_aliases: set[tuple[int, ...]] = set()
    kept: list[Any] = []
    while pending:
        current, position = pending.pop()
        # (typing_extensions' TypeAliasType and, from Python 3.12, typing's, PEP 695's
        # ``type X = ...``: distinct classes, so told by name as the rest of the package does)
        if is_type_alias(current):
            if (id(current),) not in seen_aliases:  # a recursive alias is read once
                seen_aliases.add((id(current),))
                pending.append((current.__value__, position))
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            nested.append(current)
            continue
        origin = get_origin(current)
        args = get_args(current)
        if is_type_alias(origin):  # a generic alias given its arguments: TL[X]
            key = (id(origin), *map(id, args))
            if key not in seen_aliases:
                seen_aliases.add(key)
                # Its arguments kept alive: made by an outer alias's substitution, they would
                # be freed once read, and a later argument could reuse their ids.
                kept.append(current)
                pending.append((_alias_value(origin, args), position))
            continue
        if origin is Annotated:
            marks.extend(
                (mark, position) for mark in current.__metadata__ if isinstance(mark, StreamMarker)
            )
            pending.append((args[0], position))
        elif origin is Union or origin is types.UnionType:
            pending.extend((arg, position) for arg in args)
        elif origin in _SEQUENCES:
            pending.extend((arg, (*position, "item")) for arg in args if arg is not Ellipsis)
        elif origin in _MAPPINGS and len(args) == 2:
            pending.append((args[1], (*position, "value")))
    return marks


def _alias_value(alias: Any, args: tuple[Any, ...]) -> Any:
    """The value of a generic ``alias`` with ``args`` put for its type parameters, as pydantic
    reads ``alias[args]``: ``TypeAliasType("TL", list[T], type_params=(T,))[X]`` is ``list[X]``."""
    given = dict(zip(alias.__type_params__, args, strict=False))
    value = alias.__value__
    for parameter, arg in given.items():
        # (by identity: a value with unhashable metadata, Annotated[list[T], {...}], has no hash)
        if value is parameter:  # the alias stands for its parameter itself
            return arg
    parameters = getattr(value, "__parameters__", ())
    if not parameters:
        return value
    return value[tuple(given.get(parameter, parameter) for parameter in parameters)]


def _shown(position: Position) -> str:
    return "".join("[*]" if step == "item" else "{*}" for step in position)
