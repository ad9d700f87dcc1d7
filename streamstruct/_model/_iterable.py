"""Iterable[M]: items out as they close.

Sans-I/O. An ``Iterable[Item]`` response is requested as the wrapper object ``{"items": [...]}``
(:func:`items_wrapper_model` builds it), or in ``TOOLS`` mode as parallel tool calls, one item per
call. :class:`ItemsAssembler` validates each item the moment its JSON value closes — the parser
reports it, with its character span, and the parser alone decides where a value ends, so braces,
brackets and quotes inside strings never end an item early — and hands it over at once.

An item is validated against the item type with a ``TypeAdapter``: one model, or a union of models
(discriminated or not), exactly as pydantic validates that annotation. An invalid item raises
:class:`~streamstruct.ResponseValidationError` with its ``index`` and its JSON text (``raw``).
"""

from __future__ import annotations

import collections.abc
import contextlib
import re
import types
from collections.abc import Callable
from typing import (
    Annotated,
    Any,
    Final,
    Generic,
    TypeVar,
    Union,
    cast,
    final,
    get_args,
    get_origin,
    overload,
)

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from .._core._json import JSONParser, Path
from .._errors import ResponseValidationError
from ._nulls import drop_injected_nulls as _drop_injected_nulls
from ._nulls import injects_nulls

__all__ = [
    "ItemsAssembler",
    "items_json_schema",
    "items_wrapper_model",
    "iterable_item_type",
]

_T = TypeVar("_T")

ITEMS_KEY: Final = "items"
"""The wrapper object's one key."""


def iterable_item_type(response_model: object) -> Any | None:
    """The item type of ``Iterable[Item]`` (``typing`` or ``collections.abc``), else None.

    For ``Iterable[A | B]`` it is the union, with any ``Annotated`` discriminator kept.
    """
    if get_origin(response_model) is collections.abc.Iterable:
        args = get_args(response_model)
        if len(args) == 1:
            return args[0]
    return None


def _type_name(item_type: Any) -> str:
    """A readable name for an item type: ``User``, ``CatOrDog``."""
    origin = get_origin(item_type)
    if origin is Annotated:
        return _type_name(get_args(item_type)[0])
    if origin is Union or origin is types.UnionType:
        return "Or".join(_type_name(arg) for arg in get_args(item_type))
    name = getattr(item_type, "__name__", None) or "Item"
    return re.sub(r"[^0-9A-Za-z_]", "", str(name)) or "Item"


# Built once per item type. Keys that do not hash (an ``Annotated`` holding an unhashable marker)
# are simply not cached.
_wrappers: dict[tuple[Any, str | None], type[BaseModel]] = {}
_adapters: dict[Any, TypeAdapter[Any]] = {}


def items_wrapper_model(item_type: Any, *, name: str | None = None) -> type[BaseModel]:
    """The model ``{"items": [Item, ...]}`` an ``Iterable[Item]`` response is requested as.

    ``item_type`` is a model or a union of models (``Annotated`` discriminator included). The model
    is named ``name``, by default after the item type (``UserItems``, ``CatOrDogItems``); it is
    built once per item type.
    """
    key = (item_type, name)
    try:
        cached = _wrappers.get(key)
    except TypeError:
        cached = None
    if cached is not None:
        return cached
    model: type[BaseModel] = create_model(
        name or f"{_type_name(item_type)}Items",
        __module__=__name__,
        items=(
            list[item_type],
            Field(description="Every item of the answer, in order."),
        ),
    )
    with contextlib.suppress(TypeError):  # an unhashable item type: not cached
        _wrappers[key] = model
    return model


def items_json_schema(item_type: Any, *, name: str | None = None) -> dict[str, Any]:
    """The JSON schema of :func:`items_wrapper_model`: ``{"items": array of item}``."""
    return items_wrapper_model(item_type, name=name).model_json_schema()


def _adapter(item_type: Any) -> TypeAdapter[Any]:
    try:
        cached = _adapters.get(item_type)
    except TypeError:
        return TypeAdapter(item_type)
    if cached is None:
        cached = _adapters[item_type] = TypeAdapter(item_type)
    return cached


@final
class ItemsAssembler(Generic[_T]):
    """Validate the items of an ``Iterable[Item]`` response as each one closes.

    With the wrapper object, feed the parser a text delta and call :meth:`advance` with it: it
    returns the items that closed, validated, in order. The parser reports values at
    ``("items", i)`` (a bare top-level array, ``(i,)``, is taken too); it needs
    ``completion_depth`` 2, :attr:`completion_depth`. The assembler takes the parser's completed
    values (``pop_completed``): nobody else may.

    With parallel tool calls, each call's arguments are one item: pass each call's complete value
    to :meth:`add`.

    ``text``, a callable returning the text fed to the parser so far, gives errors the item's
    ``raw`` JSON and the ``text``; it is called only when raising. ``context`` is passed to pydantic
    validation; ``drop_injected_nulls=True`` (a strict schema was sent) drops the nulls it injected
    for absent optional fields before validating.
    """

    __slots__ = ("_adapter", "_context", "_drop", "_item_type", "_items", "_text")

    completion_depth: Final = 2
    """The ``completion_depth`` the parser needs: the items, not what is inside them."""

    @overload
    def __init__(
        self: ItemsAssembler[_T],
        item_type: type[_T],
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self: ItemsAssembler[Any],
        item_type: Any,
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
    ) -> None: ...
    def __init__(
        self,
        item_type: Any,
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
    ) -> None:
        self._item_type = item_type
        self._adapter = _adapter(item_type)
        self._text = text
        self._context = context
        self._drop = drop_injected_nulls and injects_nulls(item_type)  # else nothing to drop
        self._items: list[_T] = []

    @property
    def item_type(self) -> Any:
        return self._item_type

    @property
    def items(self) -> list[_T]:
        """The items validated so far (a copy)."""
        return list(self._items)

    def advance(self, parser: JSONParser) -> list[_T]:
        """The items that closed since the last call, validated, in order."""
        new: list[_T] = []
        for done in parser.pop_completed():
            index = _item_index(done.path)
            if index is None:
                continue
            new.append(self._validate(done.value, index, done.path, (done.start, done.end)))
        return new

    def add(self, value: Any, *, raw: str | None = None) -> _T:
        """Validate one complete item (a tool call's arguments) and append it; ``raw`` is its JSON."""
        index = len(self._items)
        return self._validate(value, index, (), raw)

    def finish(self, value: Any) -> list[_T]:
        """Check the complete wrapper value (``parser.close()``) and return every item.

        The items were validated as they closed; this checks only that the whole value is the
        wrapper (or a bare array) holding exactly those items.
        """
        items = value.get(ITEMS_KEY) if isinstance(value, dict) else value
        if isinstance(items, list) and len(items) == len(self._items):
            return list(self._items)
        wrapper = items_wrapper_model(self._item_type)
        text = self._text() if self._text is not None else ""
        try:
            wrapper.model_validate(value, context=self._context)
        except ValidationError as error:
            errors: list[Any] = list(error.errors(include_url=False))
            raise ResponseValidationError(
                f'the response is not an {{"items": [...]}} object: {errors[0]["msg"]}',
                errors=errors,
                raw=text or None,
                partial=list(self._items),
                text=text,
            ) from error
        # Valid, yet not the items reported: the parser was not asked to report them.
        raise ResponseValidationError(
            f"{len(items) if isinstance(items, list) else 0} items in the response but "
            f"{len(self._items)} reported: create the parser with completion_depth >= 2",
            raw=text or None,
            partial=list(self._items),
            text=text,
        )

    def _validate(
        self, value: Any, index: int, path: Path, raw: str | tuple[int, int] | None
    ) -> _T:
        """Validate one item; ``raw`` is its JSON, or its span in the text (sliced only for an
        error: the whole text is joined to slice it, which for every item made a long list of
        items quadratic)."""
        if self._drop:
            value = _drop_injected_nulls(value, self._item_type)
        try:
            item = cast(_T, self._adapter.validate_python(value, context=self._context))
        except ValidationError as error:
            errors: list[Any] = [
                {**detail, "loc": (*path, *detail["loc"])}
                for detail in error.errors(include_url=False)
            ]
            text = self._text() if self._text is not None else ""
            if isinstance(raw, tuple):
                raw = text[raw[0] : raw[1]] if self._text is not None else None
            where = ".".join(str(part) for part in errors[0]["loc"][len(path) :])
            raise ResponseValidationError(
                f"item {index} is invalid: {errors[0]['msg']}"
                + (f" (at {where})" if where else ""),
                errors=errors,
                path=path,
                index=index,
                raw=raw,
                partial=list(self._items),
                text=text,
            ) from error
        self._items.append(item)
        return item


def _item_index(path: Path) -> int | None:
    """The item index of a completed value's path, or None when it is not an item."""
    if len(path) == 2 and path[0] == ITEMS_KEY:
        index = path[1]
    elif len(path) == 1:
        index = path[0]
    else:
        return None
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    return None
