"""Partial[M]: the partial classes, the events a stream of snapshots reports, and progress().

Model layer, sans-I/O: nothing here reads the network or awaits. This module defines what the
caller sees: the ``Partial[M]`` classes (built once per model, here), the events
(:class:`FieldStarted`, :class:`TextAppended`, :class:`FieldCompleted`, :class:`SnapshotEvent`)
and :func:`progress`. The snapshots themselves are made by
:class:`~streamstruct.PartialAssembler` (its core, ``_assembler``, is the code run for every event),
which is handed the JSON parser after each text delta and answers with these events; the response
reader (:class:`~streamstruct._response._partial_reader.PartialReader`) owns the parser and the text and
feeds it, and the stream objects of ``_io`` only relay what comes out.

What a snapshot shows (a ``Partial[M]`` instance, ``model_construct``-ed, never re-validated):

* a field typed ``str`` grows as its text arrives; anything else (numbers, booleans, enums,
  ``Literal``, dates, sets, ...) appears only once complete, so ``age`` never shows ``2`` on its way
  to ``28`` and a ``Literal["admin", "user"]`` never shows ``"ad"``;
* a complete field holds its *validated* value, the one its type gives (an enum member, a
  ``datetime``, a complete nested model as an instance of the model itself); a nested model still
  being written is a ``Partial`` of it; a list holds its validated items plus the one in progress;
* the root stays a ``Partial[M]`` to the end: the last snapshot holds every field, and
  :func:`progress` says 100%.

Why it costs what changed, not the document (the work of the modules beside this one): JSON is
written in order, so the values still open form a single chain from the root to the current
character (the parser's "spine"); everything before it is complete and everything after it is not
there yet. A value is validated once, when it closes (``_fields``, against the type tree of
``_nodes``), and its validated form is kept by its open parent. A snapshot rebuilds only the spine
(``_assembler`` decides which levels of it changed), and not even that when the parser hands back
the same object for a part (it shares unchanged subtrees by identity): each level is rebuilt from
its validated members plus its one open member (``_level_builder``, from the memo of its last build
in ``_memo``). Pydantic's own ``experimental_allow_partial`` would instead re-validate the whole
value on every chunk.

Early validation (``_fields``): each value is validated the moment it closes, against its own type
— a model field with its constraints *and* the model's field validators, a list item or dict value
against the item type — and an invalid one raises :class:`~streamstruct.ResponseValidationError`
there and then, with its path and its raw JSON text. Model validators (``@model_validator``) need
the whole object: they run in :meth:`~streamstruct.PartialAssembler.finish` (and for a nested
model, when it closes).

Paths: events and :class:`Progress` speak the model's language (attribute names, list indexes), as
the user reads ``partial.address.city``; errors give the JSON path (keys as written, aliases
included), as pydantic's own ``loc`` does.
"""

from __future__ import annotations

import itertools
import math
import threading
import types
import weakref
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Final,
    ForwardRef,
    Generic,
    Literal,
    TypeAlias,
    TypeVar,
    Union,
    cast,
    final,
    get_args,
    get_origin,
)

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from typing_extensions import TypeAliasType

from .._core._json import Path

__all__ = [
    "FieldCompleted",
    "FieldStarted",
    "Partial",
    "PartialEvent",
    "Progress",
    "SnapshotEvent",
    "TextAppended",
    "progress",
]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")

# Marks a value a snapshot must not show (yet): an unfinished number, enum or Literal, a null the
# strict schema injected. A sentinel rather than None, since None is a value JSON can hold.
_HIDDEN: Final[Any] = object()
_MISSING: Final[Any] = object()


# -- Partial[M]: the classes ----------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class _SnapshotInfo:
    """What the assembler knew when it built one snapshot object.

    ``chain`` is the path (attribute names, indexes), relative to the object, of the value being
    written when the snapshot was taken: the fields along it are streaming, the other fields present
    are complete. ``complete`` says the object itself had closed.
    """

    chain: Path
    complete: bool


class _PartialModel(BaseModel):
    """The base of every ``Partial[...]`` class.

    Frozen, because snapshots share their unchanged parts with the snapshots before and after them:
    changing one in place would change the others. The completion info rides in a private attribute,
    whose leading underscore no pydantic field can have, so it cannot collide with a user's field.
    """

    model_config = ConfigDict(frozen=True)

    # The model this class is the partial of (a dunder: pydantic leaves it alone).
    __streamstruct_model__: ClassVar[type[BaseModel]]
    # Every field at its default (None), in order, and whether extra keys are kept: what
    # _snapshot_object needs to build an instance without model_construct.
    __streamstruct_empty__: ClassVar[dict[str, None]]
    __streamstruct_extra__: ClassVar[bool]

    _streamstruct_snapshot: _SnapshotInfo | None = PrivateAttr(default=None)

    def __reduce__(self) -> tuple[Any, ...]:
        # A partial class is made at run time, so pickle cannot find it by its name: a snapshot
        # is pickled as the model it is the partial of (found by name, as any class) and its
        # state, and unpickled as an instance of Partial[that model] (made again in a new process).
        # So errors carrying a partial cross processes (multiprocessing, task queues).
        return (_unpickle_partial, (self.__streamstruct_model__, self.__getstate__()))


def _unpickle_partial(model: type[BaseModel], state: dict[Any, Any]) -> _PartialModel:
    cls = _partial_class(model)
    instance = cls.__new__(cls)
    instance.__setstate__(state)
    return instance


# Config keys a partial class must not inherit: it has to hold any prefix of a valid value.
_CONFIG_DROPPED: Final = frozenset(
    {
        "frozen",
        "strict",
        "validate_assignment",
        "validate_default",
        "revalidate_instances",
        "title",
        "json_schema_extra",
        "defer_build",
    }
)

_partial_classes: dict[type[BaseModel], type[_PartialModel]] = {}
# Building a class (and those of the models it nests, maybe recursively) must happen once, even
# when two threads ask for Partial[User] at the same time; re-entrant, as building nests.
_partial_lock = threading.RLock()


def _partial_class(model: type[BaseModel]) -> type[_PartialModel]:
    """The cached partial class of ``model`` (built, with the classes of the models it nests)."""
    if isinstance(model, type) and issubclass(model, _PartialModel):
        return model  # Partial[Partial[User]] is Partial[User]
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"Partial[...] takes a pydantic model class, not {model!r}")
    cached = _partial_classes.get(model)
    if cached is not None:
        return cached
    with _partial_lock:
        cached = _partial_classes.get(model)
        if cached is not None:
            return cached
        built: dict[type[BaseModel], type[_PartialModel]] = {}
        refs: dict[type[BaseModel], str] = {}
        namespace: dict[str, Any] = {}
        _build_partial_class(model, built, refs, namespace)
        # A model that nests itself (directly or through others) was referred to by a forward
        # reference while its partial class did not exist yet: resolve those now.
        for cls in built.values():
            if not cls.__pydantic_complete__:
                cls.model_rebuild(_types_namespace=namespace, raise_errors=True)
        _partial_classes.update(built)
        return built[model]


def _build_partial_class(
    model: type[BaseModel],
    built: dict[type[BaseModel], type[_PartialModel]],
    refs: dict[type[BaseModel], str],
    namespace: dict[str, Any],
) -> type[_PartialModel]:
    if not model.__pydantic_complete__:
        model.model_rebuild(raise_errors=True)
    # An identifier, unlike a model's name ("Box[int]"), so it can be a forward reference.
    refs[model] = f"_streamstruct_partial_{len(refs)}"
    annotations: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = _partial_annotation(field.annotation, built, refs, namespace)
        annotations[name] = Union[annotation, None]  # noqa: UP007 (a runtime type expression)
        # Descriptions and aliases stay (the partial class still reads and writes the model's JSON);
        # constraints, validators, frozen-ness and defaults go: a partial value must be constructible.
        body[name] = Field(
            default=None,
            alias=field.alias,
            validation_alias=field.validation_alias,
            serialization_alias=field.serialization_alias,
            title=field.title,
            description=field.description,
            examples=field.examples,
            exclude=field.exclude,
            repr=field.repr,
        )
    config = {k: v for k, v in model.model_config.items() if k not in _CONFIG_DROPPED}
    config["frozen"] = True
    name = f"Partial{model.__name__}"
    body.update(
        {
            "__annotations__": annotations,
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"A partial {model.__name__}: every field optional, nothing validated.",
            "__streamstruct_model__": model,
            "__streamstruct_empty__": dict.fromkeys(model.model_fields),
            "__streamstruct_extra__": config.get("extra") == "allow",
            "model_config": ConfigDict(**config),  # type: ignore[typeddict-item]
        }
    )
    # The class statement, spelled as a call: pydantic's metaclass builds it like any model.
    metaclass: Any = type(BaseModel)
    cls = cast("type[_PartialModel]", metaclass(name, (_PartialModel,), body))
    built[model] = cls
    namespace[refs[model]] = cls
    return cls


def _partial_annotation(
    annotation: Any,
    built: dict[type[BaseModel], type[_PartialModel]],
    refs: dict[type[BaseModel], str],
    namespace: dict[str, Any],
) -> Any:
    """``annotation`` with every model ``M`` in it replaced by ``M | Partial[M]``, constraints dropped.

    ``M`` stays as an option because a complete nested value is shown validated, as an ``M``; the
    union keeps ``model_dump`` of a snapshot free of serialisation warnings.
    """
    origin = get_origin(annotation)
    if origin is Annotated:
        return _partial_annotation(get_args(annotation)[0], built, refs, namespace)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_or_partial(annotation, built, refs, namespace)
    if origin is None or origin is Literal:
        return annotation
    args = get_args(annotation)
    if not args:
        return annotation
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        # A fixed tuple being written is shorter than its type says.
        return tuple[Any, ...]
    new_args = tuple(
        arg if arg is Ellipsis else _partial_annotation(arg, built, refs, namespace) for arg in args
    )
    if all(new is old for new, old in zip(new_args, args, strict=True)):
        return annotation
    return _with_args(annotation, origin, new_args)


def _model_or_partial(
    model: type[BaseModel],
    built: dict[type[BaseModel], type[_PartialModel]],
    refs: dict[type[BaseModel], str],
    namespace: dict[str, Any],
) -> Any:
    """``model | Partial[model]`` (a RootModel as it is), its partial class built if needed."""
    if model.__pydantic_root_model__:
        return model
    partial: Any = _partial_classes.get(model) or built.get(model)
    if partial is None:
        if model in refs:  # being built further up: a cycle
            partial = ForwardRef(refs[model])
        else:
            partial = _build_partial_class(model, built, refs, namespace)
    return Union[model, partial]  # noqa: UP007


def _with_args(annotation: Any, origin: Any, new_args: tuple[Any, ...]) -> Any:
    """``annotation`` (a generic or a union, of ``origin``) with ``new_args`` instead of its own."""
    if origin is Union or origin is types.UnionType:
        return Union[new_args]  # noqa: UP007
    if isinstance(annotation, types.GenericAlias):
        return types.GenericAlias(origin, new_args)
    copy_with = getattr(annotation, "copy_with", None)
    if copy_with is not None:
        try:
            return copy_with(new_args)
        except TypeError:
            pass
    return annotation


if TYPE_CHECKING:
    # Type checkers have no way to say "M with every field optional", so ``Partial[M]`` is ``M`` to
    # them: ``p.name`` type-checks and ``p.nonexistent`` does not. At run time a field may be None
    # while the object is being written.
    Partial: TypeAlias = Annotated[_T, "streamstruct.Partial"]
else:

    @final
    class Partial:
        """``Partial[M]``: the class of ``M``'s snapshots, every field optional and defaulting to None.

        The class is built once per model and cached (``Partial[M] is Partial[M]``); it is named
        ``PartialM``. Nested models are partial too, wherever they sit (lists, dicts, Optionals,
        unions, tuples). Field descriptions and aliases are kept; constraints and validators are
        not, since a partial value must be constructible. Usable as an annotation, for
        ``isinstance`` checks and, if needed, for ``model_validate``. A snapshot pickles (by its
        model, which must be importable, as pickle needs of any class) and unpickles as an
        instance of ``Partial[M]``, in another process too.
        """

        __slots__ = ()

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            raise TypeError("Partial is not instantiated: use Partial[Model]")

        def __class_getitem__(cls, model: Any) -> type[BaseModel]:
            return _partial_class(model)


# -- events and progress ---------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class FieldStarted:
    """The value at ``path`` (attribute names and list indexes) has begun."""

    path: Path


@final
@dataclass(frozen=True, slots=True)
class TextAppended:
    """``text`` was appended to the string at ``path`` (a field typed ``str``, or an item of one)."""

    path: Path
    text: str


@final
@dataclass(frozen=True, slots=True)
class FieldCompleted:
    """The value at ``path`` is complete; ``value`` is it validated against its type."""

    path: Path
    value: Any


@final
@dataclass(frozen=True, slots=True)
class SnapshotEvent(Generic[_T]):
    """Something visible changed: ``partial`` is the new snapshot, a ``Partial[M]`` instance."""

    partial: _T


# A TypeAliasType rather than a bare Union, so that the name belongs to this module (a Union's
# __module__ is "typing") and reads as PartialEvent in documentation.
PartialEvent = TypeAliasType(
    "PartialEvent",
    Union[FieldStarted, TextAppended, FieldCompleted, SnapshotEvent[Any]],  # noqa: UP007
)
"""Any event :meth:`~streamstruct.PartialAssembler.advance` returns."""


@final
@dataclass(frozen=True, slots=True)
class Progress:
    """How far a snapshot has got, field by field.

    ``complete`` holds the paths (attribute names, list indexes, dict keys) of the fields and items
    that are complete — a complete field's own sub-fields are not listed again —, ``streaming``
    the path being written and every path above it, ``missing`` the declared fields (of the object
    and of the partial objects being written) not begun yet. ``fraction`` counts the object's fields,
    a nested object being written counting for the fraction of its own fields that is done; it is
    1.0 exactly when the object is complete.
    """

    complete: frozenset[Path]
    streaming: frozenset[Path]
    missing: frozenset[Path]
    fraction: float

    @property
    def percent(self) -> int:
        """``fraction`` as a whole percentage, rounded down: 100 only when complete."""
        return int(self.fraction * 100)

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` is complete (itself, or inside a complete field)."""
        return any(path[:k] in self.complete for k in range(1, len(path) + 1))

    def __str__(self) -> str:
        return f"{self.percent}%"


def progress(partial: BaseModel) -> Progress:
    """The :class:`Progress` of a snapshot (or of any nested partial object in it).

    A snapshot knows what was being written when it was taken, so this can be asked of any
    snapshot, old or new. A model instance that is not partial (a complete nested value) is
    complete; a ``Partial[...]`` instance built by hand counts its set fields as complete.
    """
    if not isinstance(partial, BaseModel):
        raise TypeError(f"progress() takes a model instance, not {type(partial).__name__}")
    info = _snapshot_info(partial)
    fields = type(partial).model_fields
    if (info is not None and info.complete) or not isinstance(partial, _PartialModel):
        return Progress(
            complete=frozenset((name,) for name in fields),
            streaming=frozenset(),
            missing=frozenset(),
            fraction=1.0,
        )
    complete: set[Path] = set()
    streaming: set[Path] = set()
    missing: set[Path] = set()
    # Per object along the chain: its field count and complete fields, and whether its streaming
    # field holds the next partial object (whose own fraction then counts for that field).
    counts: list[tuple[int, int]] = []
    linked: list[bool] = []
    obj: Any = partial
    prefix: Path = ()
    rest: Path = info.chain if info is not None else ()
    # An explicit walk down the chain (never recursion): the chain can be as deep as the JSON.
    while True:
        head = rest[0] if rest else None
        if isinstance(obj, BaseModel):
            model_fields = type(obj).model_fields
            done = _sort_fields(obj, prefix, head, complete, streaming, missing)
            counts.append((len(model_fields), done))
            if not isinstance(head, str) or head not in model_fields:
                linked.append(False)
                break
            obj = obj.__dict__.get(head)
            linked.append(isinstance(obj, _PartialModel))
        elif isinstance(obj, (list, tuple)) and isinstance(head, int):
            complete.update((*prefix, i) for i in range(min(head, len(obj))))
            streaming.add((*prefix, head))
            obj = obj[head] if head < len(obj) else None
        elif isinstance(obj, dict) and head is not None:
            complete.update((*prefix, key) for key in itertools.takewhile(head.__ne__, obj))
            streaming.add((*prefix, head))
            obj = obj.get(head)
        else:
            break
        assert head is not None
        prefix = (*prefix, head)
        rest = rest[1:]
    fraction = _fraction(counts, linked)
    if info is not None and fraction >= 1.0:
        # Every field has a value, but the object is still open: the last one may be a nested
        # value still being written (shown as complete as far as it goes), or everything closed
        # but the brace. 1.0 is kept for the object that is complete (issue 16's fix).
        fraction = _ALMOST_DONE
    return Progress(
        complete=frozenset(complete),
        streaming=frozenset(streaming),
        missing=frozenset(missing),
        fraction=fraction,
    )


# The largest fraction below 1.0: an open object with every field there (99%).
_ALMOST_DONE: Final = math.nextafter(1.0, 0.0)


def _sort_fields(
    obj: BaseModel,
    prefix: Path,
    head: str | int | None,
    complete: set[Path],
    streaming: set[Path],
    missing: set[Path],
) -> int:
    """Put each field of ``obj`` (at ``prefix``) in ``complete``, ``streaming`` (``head``, the one
    being written) or ``missing``; how many are complete."""
    fields_set = obj.model_fields_set
    done = 0
    for name in type(obj).model_fields:
        path = (*prefix, name)
        if name == head:
            streaming.add(path)
        elif name in fields_set:
            complete.add(path)
            done += 1
        else:
            missing.add(path)
    return done


def _fraction(counts: list[tuple[int, int]], linked: list[bool]) -> float:
    """The fraction done of the outer object: per object along the chain, from the innermost, its
    complete fields and (when ``linked``) the fraction of the object it is writing."""
    fraction = 0.0
    for (count, done), link in zip(reversed(counts), reversed(linked), strict=True):
        fraction = (done + (fraction if link else 0.0)) / count if count else 1.0
    return fraction


def _snapshot_info(obj: BaseModel) -> _SnapshotInfo | None:
    private = obj.__pydantic_private__ if isinstance(obj, _PartialModel) else None
    return private.get("_streamstruct_snapshot") if private else None


def _shows_same(first: Any, second: Any) -> bool:
    """Whether two snapshot values show the same: ``model_dump()`` of each equal, without making
    either dump (their members compared in pairs, the same object standing for itself).

    The final snapshot is compared with the last one so (AssemblerCore.final_snapshot): both
    hold the members validated as they closed (a table's rows), the same objects. Dumping both
    made two copies of everything but the strings: 10 MB of rows peaked there, at 259 MB above
    the baseline against 168 MB for model_validate_json (benchmarks.memory). An explicit stack,
    never recursion: the values can be as deep as the JSON.
    """
    pairs: list[tuple[Any, Any]] = [(first, second)]
    walked: set[tuple[int, int]] = set()  # pairs of models: a validator may make a cycle of them
    while pairs:
        one, other = pairs.pop()
        if one is other:
            continue
        kind = type(one)
        if isinstance(one, BaseModel) or isinstance(other, BaseModel):
            if kind is not type(other) or not _dumps_its_fields(kind):
                # A Partial[Row] and a Row, a model and a dict, or a serializer: as the dumps do.
                pairs.append((_dumped(one), _dumped(other)))
                continue
            if (id(one), id(other)) in walked:
                continue  # met again inside itself: what differs, if anything, is found elsewhere
            walked.add((id(one), id(other)))
            shown = [name for name, info in kind.model_fields.items() if not info.exclude]
            pairs.append(
                ([one.__dict__.get(n) for n in shown], [other.__dict__.get(n) for n in shown])
            )
            pairs.append((one.__pydantic_extra__, other.__pydantic_extra__))
        elif kind in (list, tuple) and type(other) is kind:
            if len(one) != len(other):
                return False
            pairs.extend(zip(one, other, strict=True))
        elif kind is dict and type(other) is dict:
            if one.keys() != other.keys():
                return False
            pairs.extend((value, other[key]) for key, value in one.items())
        elif one != other:
            return False
    return True


def _dumped(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


_DUMPS_ITS_FIELDS: weakref.WeakKeyDictionary[type[BaseModel], bool] = weakref.WeakKeyDictionary()
_NOT_ITS_FIELDS = ("serialization", "computed_fields", "serialization_exclude_if")


def _dumps_its_fields(kind: type[BaseModel]) -> bool:
    """Whether ``kind`` dumps its fields as they are: no serializer, computed field, exclude_if."""
    known = _DUMPS_ITS_FIELDS.get(kind)
    if known is None:
        known = _DUMPS_ITS_FIELDS[kind] = not _schema_has(kind.__pydantic_core_schema__, kind)
    return known


def _schema_has(schema: Any, kind: type[BaseModel]) -> bool:
    nodes: list[Any] = [schema]
    seen: set[int] = set()  # a schema may share a part between places
    while nodes:
        node = nodes.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if any(node.get(key) for key in _NOT_ITS_FIELDS):
                return True
            if node.get("type") == "model" and node.get("cls") is not kind:
                continue  # another model: its members, when walked, are checked with its class
            nodes.extend(node.values())
        elif isinstance(node, (list, tuple)):
            nodes.extend(node)
    return False
