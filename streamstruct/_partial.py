"""Partial[M]: the partial classes, snapshot → model, per-field completion, early validation.

Sans-I/O: nothing here reads the network or awaits. :class:`PartialAssembler` is handed the JSON
parser after each text delta and answers with typed events; the stream layer owns the parser and the
text, and only relays what comes out.

What a snapshot shows (a ``Partial[M]`` instance, ``model_construct``-ed, never re-validated):

* a field typed ``str`` grows as its text arrives; anything else (numbers, booleans, enums,
  ``Literal``, dates, sets, ...) appears only once complete, so ``age`` never shows ``2`` on its way
  to ``28`` and a ``Literal["admin", "user"]`` never shows ``"ad"``;
* a complete field holds its *validated* value, the one its type gives (an enum member, a
  ``datetime``, a complete nested model as an instance of the model itself); a nested model still
  being written is a ``Partial`` of it; a list holds its validated items plus the one in progress;
* the root stays a ``Partial[M]`` to the end: the last snapshot holds every field, and
  :func:`progress` says 100%.

Why it costs what changed, not the document: JSON is written in order, so the values still open
form a single chain from the root to the current character (the parser's "spine"); everything
before it is complete and everything after it is not there yet. A value is validated once, when it
closes, and its validated form is kept by its open parent. A snapshot rebuilds only the spine, and
not even that when the parser hands back the same object for a part (it shares unchanged subtrees by
identity): each level is rebuilt from its validated members plus its one open member. Pydantic's own
``experimental_allow_partial`` would instead re-validate the whole value on every chunk.

Early validation: each value is validated the moment it closes, against its own type — a model
field with its constraints *and* the model's field validators, a list item or dict value against the
item type — and an invalid one raises :class:`~streamstruct.ResponseValidationError` there and then,
with its path and its raw JSON text. Model validators (``@model_validator``) need the whole object:
they run in :meth:`PartialAssembler.finish` (and for a nested model, when it closes).

Paths: events and :class:`Progress` speak the model's language (attribute names, list indexes), as
the user reads ``partial.address.city``; errors give the JSON path (keys as written, aliases
included), as pydantic's own ``loc`` does.
"""

from __future__ import annotations

import collections.abc
import itertools
import sys
import threading
import types
from collections.abc import Callable
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
    NamedTuple,
    TypeAlias,
    TypeVar,
    Union,
    cast,
    final,
    get_args,
    get_origin,
)

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import CoreConfig, CoreSchema, SchemaValidator, core_schema
from typing_extensions import TypeAliasType

from ._errors import ResponseValidationError
from ._json import JSONParser, Path
from ._modes import drop_injected_nulls as _drop_injected_nulls
from ._modes import injected_null_keys

__all__ = [
    "FieldCompleted",
    "FieldStarted",
    "Partial",
    "PartialAssembler",
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
        if annotation.__pydantic_root_model__:
            return annotation
        partial: Any = _partial_classes.get(annotation) or built.get(annotation)
        if partial is None:
            if annotation in refs:  # being built further up: a cycle
                partial = ForwardRef(refs[annotation])
            else:
                partial = _build_partial_class(annotation, built, refs, namespace)
        return Union[annotation, partial]  # noqa: UP007
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
        ``isinstance`` checks and, if needed, for ``model_validate``.
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
"""Any event :meth:`PartialAssembler.advance` returns."""


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
            fields_set = obj.model_fields_set
            done = 0
            for name in model_fields:
                path = (*prefix, name)
                if name == head:
                    streaming.add(path)
                elif name in fields_set:
                    complete.add(path)
                    done += 1
                else:
                    missing.add(path)
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
            for key in obj:
                if key == head:
                    break
                complete.add((*prefix, key))
            streaming.add((*prefix, head))
            obj = obj.get(head)
        else:
            break
        assert head is not None
        prefix = (*prefix, head)
        rest = rest[1:]
    fraction = 0.0
    for (count, done), link in zip(reversed(counts), reversed(linked), strict=True):
        fraction = (done + (fraction if link else 0.0)) / count if count else 1.0
    return Progress(
        complete=frozenset(complete),
        streaming=frozenset(streaming),
        missing=frozenset(missing),
        fraction=fraction,
    )


def _snapshot_info(obj: BaseModel) -> _SnapshotInfo | None:
    private = obj.__pydantic_private__ if isinstance(obj, _PartialModel) else None
    return private.get("_streamstruct_snapshot") if private else None


# -- the response type, as a tree of nodes read from pydantic's core schema ---------------------
#
# The tree is read from the compiled core schema rather than from annotations: pydantic has
# already resolved Optional, Annotated, aliases, forward references and type aliases there, and it
# tells exactly which values are strings (``str``) and which only look like strings in JSON (dates,
# enums, Literals, UUIDs): the first grow in a snapshot, the others wait until complete. The same
# sub-schemas validate each path, so a field is checked exactly as the model would check it, with
# the model's config. Children are built lazily, which also makes recursive models finite.


_Closed: TypeAlias = Callable[[Path], bool]
"""Whether the value at a path (whose container is open) is complete."""


class _Node:
    __slots__ = ()

    def child(self, key: str | int) -> _Node | None:
        """The node of the member at ``key``, or None when nothing is known of it."""
        return None

    def name_of(self, key: str | int) -> str | int:
        """The member's name in paths given to users (the attribute name for a model field)."""
        return key

    def open_key(self, raw: Any, path: Path, closed: _Closed) -> str | int | None:
        """The key of ``raw``'s member being written, if ``raw`` is open and has one."""
        return None

    def validate_child(
        self, key: str | int, value: Any, siblings: dict[str, Any], context: Any
    ) -> Any:
        raise TypeError(f"{type(self).__name__} has no members")  # pragma: no cover

    def child_annotation(self, key: str | int) -> Any:
        return Any


@final
class _Leaf(_Node):
    """A value shown only once complete; or, for ``str``, growing as it is written."""

    __slots__ = ("grows",)

    def __init__(self, grows: bool) -> None:
        self.grows = grows


@final
class _AnyNode(_Node):
    """``Any``: shown as the parser shows it (strings grow); nothing below it is typed."""

    __slots__ = ()


_STR: Final = _Leaf(grows=True)
_ATOMIC: Final = _Leaf(grows=False)
_ANY: Final = _AnyNode()


@final
class _Context:
    """The definitions a core schema refers to, and the node built for each."""

    __slots__ = ("by_ref", "definitions", "ref_nodes")

    def __init__(self, definitions: list[Any]) -> None:
        self.definitions = definitions
        self.by_ref: dict[str, Any] = {d["ref"]: d for d in definitions if "ref" in d}
        self.ref_nodes: dict[str, _Node] = {}

    def validator(self, schema: Any, config: Any) -> SchemaValidator:
        if self.definitions:
            schema = core_schema.definitions_schema(schema, self.definitions)
        return SchemaValidator(cast(CoreSchema, schema), cast("CoreConfig | None", config or None))


# Wrappers that do not change which JSON shape a value has.
_TRANSPARENT: Final = frozenset(
    {"default", "nullable", "function-before", "function-after", "function-wrap", "custom-error"}
)


def _node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    while True:
        kind = schema.get("type")
        if kind == "definition-ref":
            ref = schema["schema_ref"]
            node = ctx.ref_nodes.get(ref)
            if node is None:
                target = ctx.by_ref.get(ref)
                node = _ATOMIC if target is None else _node(target, ctx, config, annotation)
                ctx.ref_nodes[ref] = node
            return node
        if kind in _TRANSPARENT:
            schema = schema["schema"]
        elif kind == "json-or-python":
            schema = schema["json_schema"]
        elif kind == "lax-or-strict":
            schema = schema["lax_schema"]
        else:
            break
    if kind == "model":
        # A RootModel's value is not an object with fields: shown once complete.
        return _ATOMIC if schema.get("root_model") else _ModelNode(schema, ctx)
    if kind == "str":
        return _STR
    if kind == "any":
        return _ANY
    if kind == "list":
        items = schema.get("items_schema") or core_schema.any_schema()
        return _SequenceNode([items], 0, False, ctx, config, annotation)
    if kind == "tuple":
        return _SequenceNode(
            list(schema.get("items_schema", [])),
            schema.get("variadic_item_index"),
            True,
            ctx,
            config,
            annotation,
        )
    if kind == "dict":
        values = schema.get("values_schema") or core_schema.any_schema()
        return _DictNode(values, ctx, config, annotation)
    if kind == "union":
        options = [c[0] if isinstance(c, tuple) else c for c in schema["choices"]]
        return _UnionNode(options, None, None, ctx, config)
    if kind == "tagged-union":
        tags = {
            tag: choice for tag, choice in schema["choices"].items() if isinstance(choice, dict)
        }
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, list) and len(discriminator) == 1:
            discriminator = discriminator[0]
            if isinstance(discriminator, list) and len(discriminator) == 1:
                discriminator = discriminator[0]
        key = discriminator if isinstance(discriminator, str) else None
        # Several tags may name one option (Literal["a", "b"]): one node per option.
        choices: list[Any] = []
        tag_index: dict[Any, int] = {}
        for tag, choice in tags.items():
            index = next((i for i, c in enumerate(choices) if c is choice), len(choices))
            if index == len(choices):
                choices.append(choice)
            tag_index[tag] = index
        return _UnionNode(choices, tag_index, key, ctx, config)
    # Numbers, booleans, None, enums, Literals, dates, sets, dataclasses, plain validators...
    return _ATOMIC


@final
class _FieldSpec:
    __slots__ = ("_node", "annotation", "name", "order", "reads_data", "schema")

    def __init__(self, name: str, order: int, schema: Any, annotation: Any) -> None:
        self.name = name
        self.order = order  # declaration order: pydantic validates fields in it
        self.schema = schema
        self.annotation = annotation
        self.reads_data = _reads_data(schema)
        self._node: _Node | None = None


def _reads_data(schema: Any) -> bool:
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


@final
class _ModelNode(_Node):
    __slots__ = (
        "_droppable",
        "_fields_schema",
        "_partial",
        "_validator",
        "by_name",
        "cls",
        "config",
        "ctx",
        "fields",
    )

    def __init__(self, schema: Any, ctx: _Context) -> None:
        self.cls: type[BaseModel] = schema["cls"]
        self.ctx = ctx
        self.config = schema.get("config")
        fields_schema = schema["schema"]
        while fields_schema.get("type") != "model-fields":
            fields_schema = fields_schema["schema"]
        # A frozen field refuses assignment, and validation by assignment is how a field is checked
        # on its own (see validate_child).
        self._fields_schema = {
            **fields_schema,
            "fields": {
                name: {k: v for k, v in field.items() if k != "frozen"}
                for name, field in fields_schema["fields"].items()
            },
        }
        model_fields = self.cls.model_fields
        # JSON key → field: the alias (or each single-key alias choice), then the name itself.
        self.fields: dict[str, _FieldSpec] = {}
        specs = []
        for order, (name, field) in enumerate(fields_schema["fields"].items()):
            info = model_fields.get(name)
            spec = _FieldSpec(name, order, field["schema"], info.annotation if info else Any)
            specs.append(spec)
            for key in _alias_keys(field.get("validation_alias")):
                self.fields.setdefault(key, spec)
        for spec in specs:
            self.fields.setdefault(spec.name, spec)
        self.by_name = {spec.name: spec for spec in specs}
        self._validator: SchemaValidator | None = None
        self._partial: type[_PartialModel] | None = None
        self._droppable: frozenset[str] | None = None

    @property
    def partial_class(self) -> type[_PartialModel]:
        if self._partial is None:
            self._partial = _partial_class(self.cls)
        return self._partial

    @property
    def droppable(self) -> frozenset[str]:
        """The keys whose ``null`` a strict schema injected for "absent" (see ``_modes``)."""
        if self._droppable is None:
            self._droppable = injected_null_keys(self.cls)
        return self._droppable

    def child(self, key: str | int) -> _Node | None:
        spec = self.fields.get(key) if isinstance(key, str) else None
        if spec is None:
            return None
        if spec._node is None:
            spec._node = _node(spec.schema, self.ctx, self.config, spec.annotation)
        return spec._node

    def name_of(self, key: str | int) -> str | int:
        spec = self.fields.get(key) if isinstance(key, str) else None
        return key if spec is None else spec.name

    def open_key(self, raw: Any, path: Path, closed: _Closed) -> str | int | None:
        return _open_dict_key(raw, path, closed)

    def child_annotation(self, key: str | int) -> Any:
        spec = self.fields.get(key) if isinstance(key, str) else None
        return Any if spec is None else spec.annotation

    def validate_child(
        self, key: str | int, value: Any, siblings: dict[str, Any], context: Any
    ) -> Any:
        # One field on its own, faithfully: validation by assignment on the model's compiled
        # ``model-fields`` schema runs that field's schema exactly as model validation would —
        # type, constraints, ``Annotated`` validators, ``@field_validator``s (bound to the model's
        # own class) and the model's config — with ``info.data`` holding ``siblings``, the fields
        # declared before it, as pydantic gives them. Model validators are left out: they wrap the
        # ``model`` schema around it and need the whole object (``validate_assignment`` on the
        # model itself would run them on half an object), and a TypeAdapter of the annotation
        # would miss the field validators and the config.
        spec = self.fields[cast(str, key)]
        data = {n: v for n, v in siblings.items() if self.by_name[n].order < spec.order}
        if self._validator is None:
            self._validator = self.ctx.validator(self._fields_schema, self.config)
        result = self._validator.validate_assignment(data, spec.name, value, context=context)
        fields = result[0] if isinstance(result, tuple) else result
        return fields[spec.name]


def _alias_keys(alias: Any) -> list[str]:
    """The top-level JSON keys a core-schema ``validation_alias`` reads."""
    if isinstance(alias, str):
        return [alias]
    if not isinstance(alias, list):
        return []
    choices = alias if alias and all(isinstance(a, list) for a in alias) else [alias]
    return [c[0] for c in choices if len(c) == 1 and isinstance(c[0], str)]


def _open_dict_key(raw: Any, path: Path, closed: _Closed) -> str | None:
    if not isinstance(raw, dict) or not raw:
        return None
    last: str = next(reversed(raw))
    return None if closed((*path, last)) else last


@final
class _SequenceNode(_Node):
    """A list, or a tuple (``positions`` per index, the one at ``variadic`` repeating)."""

    __slots__ = (
        "annotation",
        "as_tuple",
        "config",
        "ctx",
        "nodes",
        "positions",
        "validators",
        "variadic",
    )

    def __init__(
        self,
        positions: list[Any],
        variadic: int | None,
        as_tuple: bool,
        ctx: _Context,
        config: Any,
        annotation: Any,
    ) -> None:
        self.positions = positions
        self.variadic = variadic
        self.as_tuple = as_tuple
        self.ctx = ctx
        self.config = config
        self.annotation = annotation
        self.nodes: dict[int, _Node] = {}
        self.validators: dict[int, SchemaValidator] = {}

    def _position(self, key: str | int) -> int | None:
        if not isinstance(key, int) or isinstance(key, bool) or key < 0:
            return None
        if self.variadic is not None and key >= self.variadic:
            return self.variadic
        return key if key < len(self.positions) else None

    def child(self, key: str | int) -> _Node | None:
        position = self._position(key)
        if position is None:
            return None
        node = self.nodes.get(position)
        if node is None:
            annotation = _item_annotation(self.annotation, position)
            node = _node(self.positions[position], self.ctx, self.config, annotation)
            self.nodes[position] = node
        return node

    def open_key(self, raw: Any, path: Path, closed: _Closed) -> str | int | None:
        if not isinstance(raw, list) or not raw:
            return None
        last = len(raw) - 1
        return None if closed((*path, last)) else last

    def child_annotation(self, key: str | int) -> Any:
        position = self._position(key)
        return Any if position is None else _item_annotation(self.annotation, position)

    def validate_child(
        self, key: str | int, value: Any, siblings: dict[str, Any], context: Any
    ) -> Any:
        position = self._position(key)
        assert position is not None
        validator = self.validators.get(position)
        if validator is None:
            validator = self.ctx.validator(self.positions[position], self.config)
            self.validators[position] = validator
        return validator.validate_python(value, context=context)


@final
class _DictNode(_Node):
    __slots__ = ("_node", "_validator", "annotation", "config", "ctx", "values")

    def __init__(self, values: Any, ctx: _Context, config: Any, annotation: Any) -> None:
        self.values = values
        self.ctx = ctx
        self.config = config
        self.annotation = annotation
        self._node: _Node | None = None
        self._validator: SchemaValidator | None = None

    def child(self, key: str | int) -> _Node | None:
        if not isinstance(key, str):
            return None
        if self._node is None:
            self._node = _node(
                self.values, self.ctx, self.config, _item_annotation(self.annotation, key)
            )
        return self._node

    def open_key(self, raw: Any, path: Path, closed: _Closed) -> str | int | None:
        return _open_dict_key(raw, path, closed)

    def child_annotation(self, key: str | int) -> Any:
        return _item_annotation(self.annotation, key)

    def validate_child(
        self, key: str | int, value: Any, siblings: dict[str, Any], context: Any
    ) -> Any:
        if self._validator is None:
            self._validator = self.ctx.validator(self.values, self.config)
        return self._validator.validate_python(value, context=context)


@final
class _UnionNode(_Node):
    """Several options. Which one a value is becomes certain only once it is complete, so nothing
    below a union is validated or reported on its own: the union value is, when it closes. While it
    is written it is shown as the likeliest option (the discriminator's, once that is complete)."""

    __slots__ = ("_nodes", "choices", "config", "ctx", "discriminator", "tags")

    def __init__(
        self,
        choices: list[Any],
        tags: dict[Any, int] | None,
        discriminator: str | None,
        ctx: _Context,
        config: Any,
    ) -> None:
        self.choices = choices
        self.tags = tags  # tag → index in choices, for a discriminated union
        self.discriminator = discriminator
        self.ctx = ctx
        self.config = config
        self._nodes: list[_Node] | None = None

    @property
    def nodes(self) -> list[_Node]:
        if self._nodes is None:
            self._nodes = [_node(c, self.ctx, self.config, Any) for c in self.choices]
        return self._nodes

    def choose(self, raw: Any, path: Path, closed: _Closed) -> _Node:
        if isinstance(raw, dict):
            key = self.discriminator
            if self.tags is not None and key is not None and key in raw:
                tag = raw[key]
                last = next(reversed(raw))
                if (key != last or closed((*path, key))) and _hashable(tag):
                    index = self.tags.get(tag)
                    if index is not None:
                        return self.nodes[index]
            fallback: _Node | None = None
            for node in self.nodes:
                if isinstance(node, _ModelNode):
                    if all(k in node.fields for k in raw):
                        return node
                    fallback = fallback or node
                elif isinstance(node, (_DictNode, _AnyNode, _UnionNode)):
                    fallback = fallback or node
            return fallback or _ATOMIC
        if isinstance(raw, list):
            wanted: tuple[type[_Node], ...] = (_SequenceNode, _AnyNode, _UnionNode)
        elif isinstance(raw, str):
            for node in self.nodes:
                if node is _STR or node is _ANY or isinstance(node, _UnionNode):
                    return node
            return _ATOMIC
        else:
            return _ATOMIC
        for node in self.nodes:
            if isinstance(node, wanted):
                return node
        return _ATOMIC


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _grows(node: _Node, value: Any) -> bool:
    """Whether ``value`` at a node of this kind is text shown as it grows."""
    if not isinstance(value, str):
        return False
    if node is _STR or node is _ANY:
        return True
    return isinstance(node, _UnionNode) and any(_grows(n, value) for n in node.nodes)


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


def _item_annotation(annotation: Any, key: str | int) -> Any:
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


def _depth(node: _Node, visiting: set[int], memo: dict[int, int | None]) -> int | None:
    """How many levels below ``node`` completions matter; None when unbounded (recursion).

    Recursion over the *type*, whose nesting is the code's, not the document's.
    """
    key = id(node)
    if key in memo:
        return memo[key]
    if key in visiting:
        return None  # a recursive model: any depth may matter
    visiting.add(key)
    step = 1
    children: list[_Node] = []
    if isinstance(node, _ModelNode):
        children = [c for k in list(node.fields) if (c := node.child(k)) is not None]
    elif isinstance(node, _SequenceNode):
        children = [c for i in range(len(node.positions)) if (c := node.child(i)) is not None]
    elif isinstance(node, _DictNode):
        children = [c for c in (node.child(""),) if c is not None]
    elif isinstance(node, _UnionNode):
        children = node.nodes
        step = 0  # a union is not a level of the JSON
    else:
        step = 0  # leaves, and Any (nothing below it is looked at)
    depths = [_depth(child, visiting, memo) for child in children]
    result: int | None = None
    if None not in depths:
        result = step + max((d for d in depths if d is not None), default=0)
    visiting.discard(key)
    memo[key] = result
    return result


_root_nodes: dict[type[BaseModel], tuple[_ModelNode, int | None]] = {}


def _root_node(model: type[BaseModel]) -> tuple[_ModelNode, int | None]:
    """The node tree of ``model`` and the completion depth it needs, built once per model."""
    cached = _root_nodes.get(model)
    if cached is not None:
        return cached
    if not model.__pydantic_complete__:
        model.model_rebuild(raise_errors=True)
    schema: Any = model.__pydantic_core_schema__
    definitions: list[Any] = []
    if schema.get("type") == "definitions":
        definitions = list(schema["definitions"])
        schema = schema["schema"]
    ctx = _Context(definitions)
    node = _node(schema, ctx, None, model)
    if not isinstance(node, _ModelNode):
        raise TypeError(f"{model.__name__} is not a model with fields (a RootModel?)")
    result = (node, _depth(node, set(), {}))
    _root_nodes[model] = result
    return result


# -- the assembler ------------------------------------------------------------------------------


@final
class _Frame:
    """An open value on the spine that has complete members: their validated values."""

    __slots__ = ("deferred", "done", "siblings", "values")

    def __init__(self) -> None:
        self.values: dict[str | int, Any] = {}  # JSON key → validated value (or _HIDDEN)
        self.siblings: dict[str, Any] = {}  # a model's validated fields by name: ``info.data``
        self.done: set[str] = set()  # a model's fields complete (validated, deferred or dropped)
        # A model's fields complete but not validated yet, by name: their validators read
        # ``info.data`` and a field declared before them has not come (see _Deferred).
        self.deferred: dict[str, _Deferred] = {}


@final
@dataclass(frozen=True, slots=True)
class _Deferred:
    """A complete field whose validation waits for the fields declared before it.

    Pydantic validates fields in declaration order and a validator's ``info.data`` holds the
    fields before it; a model may write them in another order. A field whose validators take
    ``info`` is validated once every field declared before it has come (usually at once: models
    tend to follow the schema), or when its object closes, with what is there then.
    """

    key: str
    value: Any
    start: int
    end: int
    names: Path


@final
class _Level:
    """One level of the spine while a snapshot is built."""

    __slots__ = (
        "children_typed",
        "names",
        "node",
        "open_key",
        "path",
        "raw",
        "reuse",
        "shown",
        "typed",
    )

    def __init__(
        self, raw: Any, node: _Node, path: Path, names: Path, typed: bool, reuse: _Memo | None
    ) -> None:
        self.raw = raw
        self.node = node
        self.shown = node  # for a union, the option it is shown as
        self.path = path
        self.names = names
        self.typed = typed  # validated and reported on its own (not inside a union or Any)
        self.children_typed = typed
        self.open_key: str | int | None = None
        self.reuse = reuse


class _Growing(NamedTuple):
    """The last snapshot ended in a string being written (see PartialAssembler._grow)."""

    start: int  # the parser's offset of the string's opening quote: which string it is
    spine: tuple[Path, ...]  # the levels above the string, from its container up to the root
    names: Path  # the string's user path, for TextAppended


@final
class _Memo:
    """What the last snapshot built at one level of the spine.

    Complete members never change, so the next build of the level starts from ``stable`` (the
    members shown for the first ``consumed`` entries of ``raw``, all complete) and looks only at
    the entries after them: a long list being written costs its new items, not all of them, in
    Python (the copy that makes a new list is a C-speed copy, as in the parser).
    """

    __slots__ = (
        "chain",
        "complete",
        "consumed",
        "last",
        "last_final",
        "node",
        "open_member",
        "open_name",
        "raw",
        "shown",
        "spare",
        "spare_size",
        "stable",
        "stable_size",
        "value",
    )

    def __init__(
        self,
        raw: Any,
        node: _Node,
        shown: _Node,
        value: Any,
        chain: Path,
        complete: bool,
        stable: Any = None,
        consumed: int = 0,
        last: tuple[Any, Any] | None = None,
        open_name: str | int | None = None,
        open_member: Any = _HIDDEN,
        last_final: Any = _MISSING,
    ) -> None:
        self.raw = raw
        self.node = node
        self.shown = shown
        self.value = value
        self.chain = chain
        self.complete = complete
        self.stable = stable
        # A list's ``stable`` grows in place (see PartialAssembler._build): this memo's share of it.
        self.stable_size = 0 if stable is None else len(stable)
        self.consumed = consumed
        self.last = last  # (key, raw entry) of the last consumed entry, to check it is still there
        # The parser's own object for that entry when ``last`` holds a snapshot's copy of it (see
        # _continues), else _MISSING.
        self.last_final = last_final
        self.open_name = open_name
        self.open_member = open_member
        # A list level: the list shown by the snapshot before ``value``'s, made of the first
        # ``spare_size`` members of ``stable`` (and then the open member): see _snapshot_list.
        self.spare: list[Any] | None = None
        self.spare_size = 0

    def pass_spare(self, previous: _Memo) -> None:
        """Take over the lists ``previous`` (the last build of this level) showed: its value
        becomes the spare, to be made again into a later snapshot's list if nobody kept it."""
        if type(previous.value) is list:
            self.spare = previous.value
            self.spare_size = previous.stable_size


@final
class PartialAssembler(Generic[_M]):
    """Turn a JSON parser's progress into snapshots of ``model`` and field events.

    Feed the parser a text delta, then call :meth:`advance` with it: it returns, in document order,
    :class:`FieldStarted`, :class:`TextAppended` and :class:`FieldCompleted` events for what began,
    grew and closed, and a :class:`SnapshotEvent` when the snapshot visibly changed. Each value is
    validated when it closes; an invalid one raises :class:`~streamstruct.ResponseValidationError`
    from :meth:`advance`. Once the parser's value is complete, :meth:`finish` validates the whole
    model.

    The assembler takes the parser's completed values (``pop_completed``): nobody else may. The
    parser must record them deep enough: create it with
    ``JSONParser(completion_depth=assembler.completion_depth)`` (or ``None``, every level).

    ``text``, a callable returning the text fed to the parser so far, gives errors their ``raw`` and
    ``text``; it is called only when raising. ``context`` is passed to pydantic validation.
    ``drop_injected_nulls=True`` (when a strict schema was sent) treats a ``null`` the schema
    injected for an optional field as absent, as :func:`~streamstruct._modes.drop_injected_nulls`.
    """

    __slots__ = (
        "_closed",
        "_context",
        "_depth",
        "_drop",
        "_finals",
        "_frames",
        "_growing",
        "_memo",
        "_model",
        "_open",
        "_quiet",
        "_root",
        "_root_done",
        "_snapshot",
        "_text",
        "_text_at",
        "_text_len",
    )

    def __init__(
        self,
        model: type[_M],
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
    ) -> None:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"PartialAssembler takes a pydantic model class, not {model!r}")
        self._model = model
        self._root, self._depth = _root_node(model)
        self._text = text
        self._context = context
        self._drop = drop_injected_nulls
        self._frames: dict[Path, _Frame] = {}
        # The values begun and not complete (FieldStarted sent): (JSON path, user path), a chain.
        self._open: list[tuple[Path, Path]] = []
        self._text_at: Path | None = None  # the string being written, and how much of it was sent
        self._text_len = 0
        self._memo: dict[Path, _Memo] = {}
        # Set when the last snapshot ended in a growing string: see _grow.
        self._growing: _Growing | None = None
        # The values the parser reported complete in this advance() call, by path (see _continues).
        self._finals: dict[Path, Any] = {}
        self._quiet: dict[Path, tuple[Any, Any]] = {}
        # Open container → keys of its members reported complete: which member of an open
        # container is still being written (only its last one can be).
        self._closed: dict[Path, set[str | int]] = {}
        self._snapshot: _M | None = None
        self._root_done = False

    @property
    def model(self) -> type[_M]:
        return self._model

    @property
    def completion_depth(self) -> int | None:
        """The ``completion_depth`` the parser needs (``None``: every level, for recursive models)."""
        return self._depth

    @property
    def snapshot(self) -> _M | None:
        """The last snapshot (a ``Partial[M]`` instance), or None before the object began."""
        return self._snapshot

    def advance(
        self, parser: JSONParser
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]]:
        """Report what changed in ``parser`` since the last call (see the class docstring)."""
        completed = parser.pop_completed()
        if not completed and self._growing is not None:
            grown = self._grow(parser, self._growing)
            if grown is not None:
                return grown
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]] = []
        changed: set[Path] = set()  # the paths below which something completed
        finals: dict[Path, Any] = {}
        self._finals = finals
        for done in completed:
            path = done.path
            finals[path] = done.value
            changed.update(path[:k] for k in range(len(path) + 1))
            if path:
                self._closed.pop(path, None)  # its members are no longer asked about
                self._closed.setdefault(path[:-1], set()).add(path[-1])
                self._complete(path, done.value, done.start, done.end, events)
            else:
                self._root_done = True
                root = self._frames.get(())
                if root is not None and root.deferred:
                    self._flush(self._root, root, (), events, closing=True)
        snapshot = self._rebuild(parser, changed, events)
        if snapshot is not None and snapshot is not self._snapshot:
            self._snapshot = snapshot
            events.append(SnapshotEvent(snapshot))
        return events

    def finish(self, value: Any) -> _M:
        """Validate the complete value (``parser.close()``) as the model, model validators included."""
        if self._drop:
            value = _drop_injected_nulls(value, self._model)
        try:
            return self._model.model_validate(value, context=self._context)
        except ValidationError as error:
            text = self._text() if self._text is not None else ""
            errors: list[Any] = list(error.errors(include_url=False))
            raise ResponseValidationError(
                f"the response is not a valid {self._model.__name__}: {_summary(errors)}",
                errors=errors,
                raw=text or None,
                partial=self._snapshot,
                text=text,
            ) from error

    def final_snapshot(self, final: _M) -> SnapshotEvent[_M] | None:
        """The snapshot of the validated model, when it shows more than the last one did.

        Validation may fill in what the JSON left out (defaults, a null a strict schema injected
        for an absent optional field): the last snapshot must agree with ``get_final()``, and it
        is complete (progress 100%).
        """
        cls = _partial_class(self._model)
        values = {name: getattr(final, name) for name in type(final).model_fields}
        snapshot = cls.model_construct(**values)
        private = snapshot.__pydantic_private__
        assert private is not None
        private["_streamstruct_snapshot"] = _SnapshotInfo((), True)
        previous = self._snapshot
        if previous is not None and previous.model_dump() == snapshot.model_dump():
            return None
        self._snapshot = cast(_M, snapshot)
        return SnapshotEvent(cast(_M, snapshot))

    # -- completions ----------------------------------------------------------------------------

    def _locate(self, path: Path) -> tuple[_Node, Path] | None:
        """The node at ``path`` and its user path, or None when ``path`` is not typed on its own."""
        node: _Node = self._root
        names: list[str | int] = []
        for key in path:
            child = node.child(key)  # None below a union or Any, and for unknown keys
            if child is None:
                return None
            names.append(node.name_of(key))
            node = child
        return node, tuple(names)

    def _complete(
        self, path: Path, value: Any, start: int, end: int, events: list[PartialEvent]
    ) -> None:
        located = self._locate(path[:-1])
        if located is None:
            return  # inside a union or Any: validated with the value that holds it
        parent, parent_names = located
        key = path[-1]
        node = parent.child(key)
        if node is None:
            return  # a key the model does not know: pydantic's verdict comes at finish
        names = (*parent_names, parent.name_of(key))
        frame = self._frames.get(path[:-1])
        if frame is None:
            frame = self._frames[path[:-1]] = _Frame()
        own = self._frames.pop(path, None)  # its members' values are no longer needed...
        if own is not None and own.deferred and isinstance(node, _ModelNode):
            self._flush(node, own, path, events, closing=True)  # ...once all are validated
        self._start(path[:-1], parent_names, events)
        depth = len(path)
        started = len(self._open) >= depth and self._open[depth - 1][0] == path
        del self._open[depth - 1 :]
        spec = parent.fields[cast(str, key)] if isinstance(parent, _ModelNode) else None
        if self._drop:
            if value is None and spec is not None and key in cast(_ModelNode, parent).droppable:
                frame.values[key] = _HIDDEN  # "absent": the default applies, at finish
                frame.done.add(spec.name)
                if frame.deferred:
                    self._flush(cast(_ModelNode, parent), frame, path[:-1], events, closing=False)
                return
            value = _drop_injected_nulls(value, parent.child_annotation(key))
        if not started:
            events.append(FieldStarted(names))
        if _grows(node, value):
            rest = value[self._text_len :] if self._text_at == path else value
            if rest:
                events.append(TextAppended(names, rest))
        if self._text_at == path:
            self._text_at = None
        if spec is None:
            self._validate(parent, frame, key, value, start, end, names, path, events)
            return
        model = cast(_ModelNode, parent)
        frame.done.add(spec.name)
        if spec.reads_data and not _ready(model, frame, spec):
            frame.deferred[spec.name] = _Deferred(cast(str, key), value, start, end, names)
            frame.values[key] = value if _grows(node, value) else _HIDDEN  # shown as written
            return
        self._validate(parent, frame, key, value, start, end, names, path, events)
        if frame.deferred:
            self._flush(model, frame, path[:-1], events, closing=False)

    def _validate(
        self,
        parent: _Node,
        frame: _Frame,
        key: str | int,
        value: Any,
        start: int,
        end: int,
        names: Path,
        path: Path,
        events: list[PartialEvent],
    ) -> None:
        try:
            validated = parent.validate_child(key, value, frame.siblings, self._context)
        except ValidationError as error:
            raise self._error(error, path, start, end, isinstance(parent, _ModelNode)) from error
        frame.values[key] = validated
        if isinstance(parent, _ModelNode):
            frame.siblings[cast(str, names[-1])] = validated
        events.append(FieldCompleted(names, validated))

    def _flush(
        self,
        model: _ModelNode,
        frame: _Frame,
        path: Path,
        events: list[PartialEvent],
        *,
        closing: bool,
    ) -> None:
        """Validate the deferred fields of the object at ``path`` that can be now, in declaration
        order; all of them when the object is ``closing``."""
        if closing:
            # Fields that did not come take their defaults, which pydantic puts in info.data too.
            for spec in model.by_name.values():
                field = model.cls.model_fields.get(spec.name)
                if spec.name not in frame.done and field is not None and not field.is_required():
                    frame.siblings[spec.name] = _default(field, frame.siblings)
        for name in sorted(frame.deferred, key=lambda n: model.by_name[n].order):
            if closing or _ready(model, frame, model.by_name[name]):
                waiting = frame.deferred.pop(name)
                at = (*path, waiting.key)
                self._validate(
                    model,
                    frame,
                    waiting.key,
                    waiting.value,
                    waiting.start,
                    waiting.end,
                    waiting.names,
                    at,
                    events,
                )
                self._memo.pop(path, None)  # its snapshot showed the value unvalidated: rebuild

    def _start(self, path: Path, names: Path, events: list[PartialEvent]) -> None:
        """Send FieldStarted for ``path`` and the paths above it that were not reported yet."""
        stack = self._open
        for depth in range(1, len(path) + 1):
            if len(stack) >= depth and stack[depth - 1][0] == path[:depth]:
                continue
            del stack[depth - 1 :]
            stack.append((path[:depth], names[:depth]))
            events.append(FieldStarted(names[:depth]))

    def _error(
        self, error: ValidationError, path: Path, start: int, end: int, field: bool
    ) -> ResponseValidationError:
        # pydantic's locations are relative to what was validated (the field by name, or the item):
        # made absolute, in JSON keys, like the locations of a whole-model validation.
        errors: list[Any] = []
        for detail in error.errors(include_url=False):
            loc = detail["loc"][1:] if field else detail["loc"]
            errors.append({**detail, "loc": (*path, *loc)})
        text = self._text() if self._text is not None else ""
        return ResponseValidationError(
            f"invalid value at {_format_path(path)}: {_summary(errors, len(path))}",
            errors=errors,
            path=path,
            raw=text[start:end] if self._text is not None else None,
            partial=self._snapshot,
            text=text,
        )

    # -- snapshots ------------------------------------------------------------------------------

    def _rebuild(
        self, parser: JSONParser, changed: set[Path], events: list[PartialEvent]
    ) -> _M | None:
        raw = parser.snapshot()
        if not isinstance(raw, dict):
            return self._snapshot  # nothing yet (or not an object: finish will say so)
        root = self._memo.get(())
        if not changed and root is not None and root.raw is raw:
            # The parser shows nothing new (a key, a number cut by the end of the piece): the walk
            # below would reuse the root's memo whole (a quarter of the events of a table).
            return None if root.value is _HIDDEN else cast(_M, root.value)
        members_closed = self._closed

        def closed(path: Path) -> bool:
            # The completions reported so far answer; the parser is asked only about what it was
            # not told to report (a parser made with a smaller completion_depth).
            keys = members_closed.get(path[:-1])
            return (keys is not None and path[-1] in keys) or parser.is_complete(path)

        # Walk down the spine, from the root to the value being written.
        levels: list[_Level] = []
        node: _Node = self._root
        path: Path = ()
        names: Path = ()
        typed = True
        while True:
            memo = self._memo.get(path)
            if memo is not None and memo.raw is raw and memo.node is node and path not in changed:
                levels.append(_Level(raw, node, path, names, typed, memo))
                break  # the same object, nothing completed in it: nothing below changed either
            level = _Level(raw, node, path, names, typed, None)
            levels.append(level)
            while isinstance(level.shown, _UnionNode):
                level.shown = level.shown.choose(raw, path, closed)
                level.children_typed = False
            if path or not self._root_done:
                level.open_key = level.shown.open_key(raw, path, closed)
            if level.open_key is None:
                break
            child = level.shown.child(level.open_key)
            if child is None:
                level.open_key = None  # a member nothing is known of: not shown
                break
            names = (*names, level.shown.name_of(level.open_key))
            path = (*path, level.open_key)
            raw = raw[level.open_key]
            node = child
            typed = level.children_typed

        deepest = levels[-1]
        typed_levels = [lv for lv in levels if lv.typed and lv.path]
        if typed_levels:
            self._start(typed_levels[-1].path, typed_levels[-1].names, events)
        self._growing = None
        growing = bool(
            deepest.reuse is None
            and deepest.typed
            and deepest.path
            and _grows(deepest.shown, deepest.raw)
        )
        if growing:
            text: str = deepest.raw
            sent = self._text_len if self._text_at == deepest.path else 0
            if len(text) > sent:
                events.append(TextAppended(deepest.names, text[sent:]))
            self._text_at = deepest.path
            self._text_len = len(text)

        # Build back up: each level from its complete members and the level below.
        memos: dict[Path, _Memo] = {}
        quiet: dict[Path, tuple[Any, Any]] = {}
        value: Any = _HIDDEN
        chain: Path = ()
        for level in reversed(levels):
            if level.reuse is not None:
                value, chain = level.reuse.value, level.reuse.chain
                # Keep what was built below it, for when it changes again.
                size = len(level.path)
                memos.update((p, m) for p, m in self._memo.items() if p[:size] == level.path)
                quiet.update((p, q) for p, q in self._quiet.items() if p[:size] == level.path)
                continue
            value, chain = self._build(level, value, chain, memos, quiet)
        self._memo = memos
        self._quiet = quiet
        if growing and value is not _HIDDEN:
            spine = tuple(level.path for level in reversed(levels[:-1]))
            current = parser.growing_string()
            if current is not None and current[1] == deepest.raw and all(p in memos for p in spine):
                self._growing = _Growing(current[0], spine, deepest.names)
        return None if value is _HIDDEN else cast(_M, value)

    def _grow(
        self, parser: JSONParser, growing: _Growing
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]] | None:
        """The events for a string that grew and nothing else, or None to take the general path.

        The last snapshot ended in a string value; if the parser is still inside that very string
        (the same opening quote), nothing else can have changed since, and the new snapshot is the
        last one with the longer string: each level on the way up is made again from what its
        memo kept, without a parser snapshot (which copies every open container, a long list
        included) or a walk down the spine. Most events of a streamed answer are such; this was
        two fifths of their cost (benchmarks.e2e_alternatives, 100 KB, one event per read).
        """
        current = parser.growing_string()
        if current is None or current[0] != growing.start:
            return None
        text = current[1]
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]] = []
        if len(text) == self._text_len:
            return events  # nothing visible: half an escape, held back
        events.append(TextAppended(growing.names, text[self._text_len :]))
        self._text_len = len(text)
        below: Any = text
        for path in growing.spine:
            memo = self._memo[path]
            value = _make(
                memo.shown, memo.stable, memo.open_name, below, memo.chain, memo.complete, memo
            )
            if type(value) is list:
                # The memo now stands for the new snapshot: the list it showed becomes the spare.
                memo.spare, memo.spare_size = memo.value, memo.stable_size
            memo.value = value
            memo.open_member = below
            below = value
        self._finals = {}
        self._snapshot = cast(_M, below)
        events.append(SnapshotEvent(cast(_M, below)))
        return events

    def _build(
        self,
        level: _Level,
        below: Any,
        below_chain: Path,
        memos: dict[Path, _Memo],
        quiet: dict[Path, tuple[Any, Any]],
    ) -> tuple[Any, Path]:
        shown = level.shown
        raw = level.raw
        open_key = level.open_key
        complete = not level.path and self._root_done
        if isinstance(shown, _AnyNode):
            return raw, ()
        if isinstance(shown, _Leaf):
            return (raw if shown.grows and isinstance(raw, str) else _HIDDEN), ()
        is_mapping = isinstance(shown, _ModelNode | _DictNode)
        if not isinstance(raw, dict if is_mapping else list):
            return _HIDDEN, ()
        previous = self._memo.get(level.path)
        stable: Any
        if previous is not None and previous.shown is shown and _continues(previous, raw):
            stable, consumed, last = previous.stable, previous.consumed, previous.last
            if not is_mapping and len(stable) != previous.stable_size:
                stable = stable[: previous.stable_size]  # grown by a build that did not finish
        else:
            stable, consumed, last = ({} if is_mapping else []), 0, None
        previous_consumed = consumed
        # The complete entries after those already consumed (every entry but the open one).
        entries: collections.abc.Iterable[tuple[str | int, Any]]
        if isinstance(raw, dict):
            entries = itertools.islice(raw.items(), consumed, None)
        else:
            entries = zip(range(consumed, len(raw)), raw[consumed:], strict=True)
        added: list[tuple[str | int, Any]] = []
        for key, item in entries:
            if key == open_key:
                break
            consumed += 1
            last = (key, item)
            if isinstance(shown, _ModelNode) and key not in shown.fields:
                continue  # a key the model does not know: not shown
            member = self._member(level, key, item, quiet)
            if member is not _HIDDEN:
                added.append((shown.name_of(key), member))
        last_final: Any = _MISSING
        if last is not None and consumed > previous_consumed:
            # A member that closed in a piece that showed nothing new is, in this snapshot, the
            # parser's copy of it from when it was open; the next snapshot holds the parser's own
            # object. Remember that one too, so the next build still continues from here.
            final = self._finals.get((*level.path, last[0]), _MISSING)
            if final is not last[1]:
                last_final = final
        elif previous is not None and last is previous.last:
            last_final = previous.last_final
        if added:
            if is_mapping:
                stable = {**stable, **dict(added)}
            else:
                # Grown in place: a list's ``stable`` is this assembler's own (a snapshot gets a
                # copy, in _make), and copying it here too cost a third of a long table's
                # snapshots (benchmarks.e2e, 20,000 rows read 16 KiB at a time).
                stable.extend(member for _, member in added)
        open_name: str | int | None = None
        chain: Path = ()
        if open_key is not None:
            open_name = shown.name_of(open_key)
            chain = (open_name, *below_chain)
        if (
            previous is not None
            and not added
            and stable is previous.stable
            and open_name == previous.open_name
            and _same(below, previous.open_member)
            and previous.chain == chain
            and (previous.complete == complete or _all_fields(previous.value))
        ):
            value = previous.value  # nothing visible changed: the same object as before
        else:
            # Only a build that continues the previous one may remake its lists (see _snapshot_list).
            continued = previous if previous is not None and stable is previous.stable else None
            value = _make(shown, stable, open_name, below, chain, complete, continued)
        memo = _Memo(
            raw,
            level.node,
            shown,
            value,
            chain,
            complete,
            stable,
            consumed,
            last,
            open_name,
            below,
            last_final,
        )
        if previous is not None and value is not previous.value and stable is previous.stable:
            memo.pass_spare(previous)
        elif previous is not None and value is previous.value:
            memo.spare, memo.spare_size = previous.spare, previous.spare_size
        memos[level.path] = memo
        return value, chain

    def _member(
        self, level: _Level, key: str | int, item: Any, quiet: dict[Path, tuple[Any, Any]]
    ) -> Any:
        """The value shown for a complete member of an open level."""
        if level.children_typed:
            frame = self._frames.get(level.path)
            if frame is not None:
                known = frame.values.get(key, _MISSING)
                if known is not _MISSING:
                    return known
        # Not validated on its own: inside a union (where the option is a guess until the union
        # value closes), or the parser did not record it. Validated quietly, once, for display
        # only; if it fails it is not shown, and the real verdict comes with its container.
        path = (*level.path, key)
        cached = self._quiet.get(path)
        if cached is not None and cached[0] is item:
            quiet[path] = cached
            return cached[1]
        shown = level.shown
        if self._drop and item is None and isinstance(shown, _ModelNode) and key in shown.droppable:
            value = _HIDDEN
        else:
            try:
                prepared = (
                    _drop_injected_nulls(item, shown.child_annotation(key)) if self._drop else item
                )
                value = shown.validate_child(key, prepared, {}, self._context)
            except Exception:  # a field validator may raise anything on half a context
                value = _HIDDEN
        quiet[path] = (item, value)
        return value


def _make(
    shown: _Node,
    stable: Any,
    open_name: str | int | None,
    below: Any,
    chain: Path,
    complete: bool,
    memo: _Memo | None,
) -> Any:
    """A new snapshot object for one level: its complete members, then the open one. ``memo``:
    the last build of this level when this one continues it (its spare list may be remade)."""
    has_open = open_name is not None and below is not _HIDDEN
    if isinstance(shown, _ModelNode):
        members = {**stable, open_name: below} if has_open else stable
        return _snapshot_object(shown.partial_class, members, _SnapshotInfo(chain, complete))
    if isinstance(shown, _DictNode):
        return {**stable, open_name: below} if has_open else dict(stable)
    if isinstance(shown, _SequenceNode) and shown.as_tuple:
        return (*stable, below) if has_open else tuple(stable)
    items = _snapshot_list(stable, memo)
    if has_open:
        items.append(below)
    return items


def _snapshot_list(stable: list[Any], memo: _Memo | None) -> list[Any]:
    """A list holding the members of ``stable``, for a new snapshot: a copy, or the spare list of
    ``memo`` made again when nothing but this assembler holds it.

    Every snapshot shows a list of its own (a snapshot kept by the caller never changes), and a
    copy of a long list costs every one of its members: for a table being written, one copy per
    snapshot makes the stream quadratic (benchmarks.e2e_alternatives, one event per read: 49 us
    per event at 1 MB against 29 at 100 KB, 41 with this). The list shown two snapshots ago is
    usually garbage by now: the consumer moved on from that snapshot. When its reference count
    says nobody but this function holds it (CPython's count is exact, and every other holder - a
    snapshot kept, the list itself kept, an iterator over it - adds to it), it is brought up to
    date in place: its open member dropped, the members completed since appended, so a
    snapshot's list costs what was added, not its length.
    """
    if memo is None:
        return stable.copy()
    spare_size = memo.spare_size
    spare, references = _detach_spare(memo)
    if spare is not None and references == _ALONE and len(stable) >= spare_size:
        del spare[spare_size:]
        spare += stable[spare_size:]  # (islice would step through the first ones)
        return spare
    return stable.copy()


def _detach_spare(memo: _Memo) -> tuple[list[Any] | None, int]:
    """``memo.spare``, taken off the memo, and its reference count then (0 where counts are not
    exact): equal to ``_ALONE`` when nothing else holds it."""
    spare = memo.spare
    memo.spare = None
    return spare, (sys.getrefcount(spare) if _RECYCLE and spare is not None else 0)


def _alone() -> int:
    """What _detach_spare counts for a list nothing else holds, measured by the same code."""
    memo = _Memo(None, cast(_Node, None), cast(_Node, None), None, (), False)
    memo.spare = []
    return _detach_spare(memo)[1]


#: Whether _snapshot_list may remake a list: only where reference counts are exact (CPython).
_RECYCLE: Final = sys.implementation.name == "cpython" and hasattr(sys, "getrefcount")
_ALONE: Final = _alone() if _RECYCLE else -1


def _snapshot_object(
    cls: type[_PartialModel], members: dict[str, Any], info: _SnapshotInfo
) -> _PartialModel:
    """``cls.model_construct(**members)`` with its snapshot info, made directly.

    A partial class is simpler than the models ``model_construct`` serves: every field defaults to
    None, there is no post-init and one private attribute, and ``members`` is keyed by field name.
    Setting the four attributes pydantic keeps on an instance takes a fifth of the time; one or
    two such objects are made for almost every event of a stream (benchmarks.e2e_alternatives).
    tests/test_partial.py checks the result against ``model_construct``'s.
    """
    instance = cls.__new__(cls)
    set_attribute = object.__setattr__  # the class is frozen
    set_attribute(instance, "__dict__", {**cls.__streamstruct_empty__, **members})
    set_attribute(instance, "__pydantic_fields_set__", set(members))
    set_attribute(instance, "__pydantic_extra__", {} if cls.__streamstruct_extra__ else None)
    set_attribute(instance, "__pydantic_private__", {"_streamstruct_snapshot": info})
    return instance


def _default(field: FieldInfo, data: dict[str, Any]) -> Any:
    """A field's default, its factory called (given the data so far when it takes it)."""
    try:
        return field.get_default(call_default_factory=True, validated_data=dict(data))
    except TypeError:  # pydantic < 2.10: factories take no data
        return field.get_default(call_default_factory=True)


def _ready(model: _ModelNode, frame: _Frame, spec: _FieldSpec) -> bool:
    """Whether every field declared before ``spec`` is complete in ``frame``."""
    return all(
        other.name in frame.done for other in model.by_name.values() if other.order < spec.order
    )


def _all_fields(value: Any) -> bool:
    """Whether a snapshot object holds every field: then its closing changes nothing visible, not
    even its progress (100% already), and it is not rebuilt just to be marked complete."""
    return isinstance(value, BaseModel) and len(value.model_fields_set) == len(
        type(value).model_fields
    )


def _continues(previous: _Memo, raw: Any) -> bool:
    """Whether ``raw`` still starts with the entries the previous build consumed (the parser
    shares complete values by identity, so checking the last of them is enough).

    The last of them may have been the parser's copy of a member that was still open when the
    parser's snapshot was taken and closed in a piece that showed nothing new (the snapshot was
    not remade): the parser's own object, reported complete, then takes its place. Without
    accepting it, a long list would be walked again from its first entry after such a member
    (about one row in five of a streamed table).
    """
    if previous.last is None:
        return True
    key, item = previous.last
    if isinstance(raw, dict):
        if len(raw) < previous.consumed:
            return False
        got = raw.get(key, _MISSING)
    elif isinstance(raw, list) and len(raw) >= previous.consumed:
        got = raw[key]
    else:
        return False
    return got is item or (got is previous.last_final and got is not _MISSING)


def _same(a: Any, b: Any) -> bool:
    """The same value for display: the same object, or equal strings (a string is rebuilt)."""
    return a is b or (type(a) is str and type(b) is str and a == b)


def _format_path(path: Path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "the root"


def _summary(errors: list[Any], skip: int = 0) -> str:
    """The first of pydantic's errors in a sentence (its location past the first ``skip`` keys),
    and how many more there are."""
    if not errors:
        return "validation failed"
    first = errors[0]
    where = _format_path(tuple(first["loc"][skip:])) if len(first["loc"]) > skip else ""
    text = str(first["msg"]) + (f" (at {where})" if where else "")
    if len(errors) > 1:
        text += f" and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''}"
    return text
