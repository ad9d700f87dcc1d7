"""The response type as a tree of nodes, read from pydantic's core schema (Partial[M]'s engine).

The tree is read from the compiled core schema rather than from annotations: pydantic has
already resolved Optional, Annotated, aliases, forward references and type aliases there, and it
tells exactly which values are strings (``str``) and which only look like strings in JSON (dates,
enums, Literals, UUIDs): the first grow in a snapshot, the others wait until complete. The same
sub-schemas validate each path, so a field is checked exactly as the model would check it, with
the model's config. Children are built lazily, which also makes recursive models finite.

The assembler (``_assembler``) walks these nodes for every event of a stream, so, like it, this
module is kept to what mypyc compiles: a wheel built with ``STREAMSTRUCT_COMPILE=1`` carries it
compiled (see hatch_build.py). The partial classes themselves are pydantic models, built in
``_partial``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    Any,
    Final,
    TypeAlias,
    cast,
    final,
)

from pydantic import BaseModel
from pydantic_core import CoreConfig, CoreSchema, SchemaValidator, core_schema

from .._core._json import Path
from ._nulls import injected_null_keys
from ._partial import _partial_class, _PartialModel
from ._schema_facts import is_hashable, is_idempotent, item_annotation, reads_data

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
    """The node of a core schema: its wrappers looked through, then built by its kind's builder
    (a kind with none: a value shown once complete)."""
    while True:
        kind = schema.get("type")
        if kind == "definition-ref":
            return _referenced_node(schema["schema_ref"], ctx, config, annotation)
        if kind in _TRANSPARENT:
            schema = schema["schema"]
        elif kind == "json-or-python":
            schema = schema["json_schema"]
        elif kind == "lax-or-strict":
            schema = schema["lax_schema"]
        else:
            break
    build = _BUILDERS.get(kind)
    # Numbers, booleans, None, enums, Literals, dates, sets, dataclasses, plain validators...
    return _ATOMIC if build is None else build(schema, ctx, config, annotation)


def _referenced_node(ref: str, ctx: _Context, config: Any, annotation: Any) -> _Node:
    """The node of a definition, built once (a recursive model refers to itself)."""
    node = ctx.ref_nodes.get(ref)
    if node is None:
        target = ctx.by_ref.get(ref)
        node = _ATOMIC if target is None else _node(target, ctx, config, annotation)
        ctx.ref_nodes[ref] = node
    return node


def _model_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    # A RootModel's value is not an object with fields: shown once complete.
    return _ATOMIC if schema.get("root_model") else _ModelNode(schema, ctx)


def _str_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    return _STR


def _any_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    return _ANY


def _list_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    items = schema.get("items_schema") or core_schema.any_schema()
    return _SequenceNode([items], 0, False, ctx, config, annotation)


def _tuple_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    items = list(schema.get("items_schema", []))
    return _SequenceNode(items, schema.get("variadic_item_index"), True, ctx, config, annotation)


def _dict_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    values = schema.get("values_schema") or core_schema.any_schema()
    return _DictNode(values, ctx, config, annotation)


def _union_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    options = [c[0] if isinstance(c, tuple) else c for c in schema["choices"]]
    return _UnionNode(options, None, None, ctx, config)


def _tagged_union_node(schema: Any, ctx: _Context, config: Any, annotation: Any) -> _Node:
    tags = {tag: choice for tag, choice in schema["choices"].items() if isinstance(choice, dict)}
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


_Builder = Callable[[Any, _Context, Any, Any], _Node]

#: The builder of each kind of core schema that is not shown only once complete.
_BUILDERS: Final[dict[str, _Builder]] = {
    "model": _model_node,
    "str": _str_node,
    "any": _any_node,
    "list": _list_node,
    "tuple": _tuple_node,
    "dict": _dict_node,
    "union": _union_node,
    "tagged-union": _tagged_union_node,
}


@final
class _FieldSpec:
    __slots__ = ("_node", "annotation", "name", "order", "reads_data", "schema")

    def __init__(self, name: str, order: int, schema: Any, annotation: Any) -> None:
        self.name = name
        self.order = order  # declaration order: pydantic validates fields in it
        self.schema = schema
        self.annotation = annotation
        self.reads_data = reads_data(schema)
        self._node: _Node | None = None


@final
class _ModelNode(_Node):
    __slots__ = (
        "_droppable",
        "_fields_schema",
        "_idempotent",
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
        self._idempotent: dict[str, bool] = {}

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

    def idempotent(self, spec: _FieldSpec) -> bool:
        """Whether the field validates a value made of validated members as it is (see
        ``is_idempotent``)."""
        known = self._idempotent.get(spec.name)
        if known is None:
            known = self._idempotent[spec.name] = is_idempotent(spec.schema, self.ctx.by_ref)
        return known

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
            annotation = item_annotation(self.annotation, position)
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
        return Any if position is None else item_annotation(self.annotation, position)

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
                self.values, self.ctx, self.config, item_annotation(self.annotation, key)
            )
        return self._node

    def open_key(self, raw: Any, path: Path, closed: _Closed) -> str | int | None:
        return _open_dict_key(raw, path, closed)

    def child_annotation(self, key: str | int) -> Any:
        return item_annotation(self.annotation, key)

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
    is written it is shown only once its option can be told (see ``_choose_for_object``)."""

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
        """The option ``raw`` (at ``path``, being written) is shown as, for now."""
        if isinstance(raw, dict):
            return self._choose_for_object(raw, path, closed)
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

    def _choose_for_object(self, raw: dict[str, Any], path: Path, closed: _Closed) -> _Node:
        """An object's option, once it can be told: the one its complete tag names (a tagged
        union waits for its tag), else the one model that has every key it has so far, else
        the first option that is not a model and that an object may be. Until then it is not
        shown (``_ATOMIC``): shown as one option, it could turn out to be another (issue 16)."""
        if self.tags is not None and self.discriminator is not None:
            return _tagged_option(self, raw, path, closed) or _ATOMIC
        models = [
            node
            for node in self.nodes
            if isinstance(node, _ModelNode) and all(k in node.fields for k in raw)
        ]
        if len(models) == 1:
            return models[0]
        if models:
            return _ATOMIC  # keys several options have: not told yet
        for node in self.nodes:
            if isinstance(node, (_DictNode, _AnyNode, _UnionNode)):
                return node
        return _ATOMIC


def _tagged_option(
    union: _UnionNode, raw: dict[str, Any], path: Path, closed: _Closed
) -> _Node | None:
    """The option a tagged union's complete tag names, if it is there."""
    key = union.discriminator
    if union.tags is None or key is None or key not in raw:
        return None
    tag = raw[key]
    last = next(reversed(raw))
    if (key != last or closed((*path, key))) and is_hashable(tag):
        index = union.tags.get(tag)
        if index is not None:
            return union.nodes[index]
    return None


def _grows(node: _Node, value: Any) -> bool:
    """Whether ``value`` at a node of this kind is text shown as it grows."""
    if not isinstance(value, str):
        return False
    if node is _STR or node is _ANY:
        return True
    return isinstance(node, _UnionNode) and any(_grows(n, value) for n in node.nodes)


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
