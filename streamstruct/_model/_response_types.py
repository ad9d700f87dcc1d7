"""Any response type: classify a ``response_model``, wrap what is not an object, unwrap it again.

Model layer (pydantic; no I/O). A ``response_model`` is one of three kinds:

============ =================================================== ==================================
kind         what                                                requested as
============ =================================================== ==================================
``model``    a pydantic model class whose JSON schema is an      the model itself
             object
``iterable`` ``Iterable[Item]`` (``typing`` or ``collections.abc``) the ``{"items": [...]}`` wrapper
                                                                 or parallel tool calls (``_iterable``)
``wrapped``  anything else pydantic can validate: ``list[User]``, ``{"response": <the type>}``, a model
             ``dict[str, User]``, ``int``, ``float``, ``bool``,  built here (:func:`wrapper_model`)
             ``str``, ``Literal[...]``, an ``Enum``,
             ``Optional[User]``, ``Cat | Dog``, a ``TypedDict``,
             a dataclass, a ``RootModel``
============ =================================================== ==================================

Why a wrapper: a tool's parameters must be a JSON object, and OpenAI's ``json_schema`` response
format wants an object at the root too; so a ``list[User]`` answer is requested as
``{"response": [...]}``, and everything downstream (the parser, the partial classes, the assembler)
sees an ordinary model with one field. :meth:`ResponseType.unwrap_partial` and
:meth:`ResponseType.unwrap_final` take that field back out, so a snapshot of ``list[User]`` is a
list of partial users and a snapshot of ``str`` is the string so far; the partial reader
(``_response/_partial_reader.py``, compiled, as it runs for every event) does the same to the
snapshot events; the assembler writes the field events' paths without the wrapper's key in the
first place (its ``event_path_offset``), so no event is rewritten.

Why the field is named ``response``: it is the name pydantic-ai gives the one argument of its output
tool for a non-object output type, so models have seen it; it reads as what it holds ("the
response is 42"); and unlike instructor's ``content`` it cannot be confused with a message's
``content`` in the JSON modes, where the whole answer *is* the message content.

A TypedDict and a dataclass are wrapped too, although their schema is an object: the partial
classes and the assembler are built for pydantic models, and a wrapped value is validated by
pydantic exactly as a ``TypeAdapter`` of the type would (the tests check it on the same JSON). As
the partial classes treat them as leaves, such a value (as a ``dict[str, int]``) appears in the
partials only once complete; a model, a list and a ``str`` stream.
"""

from __future__ import annotations

import collections.abc
import re
import types
import typing
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Final,
    Literal,
    Optional,
    TypeAlias,
    TypeGuard,
    Union,
    final,
    get_args,
    get_origin,
)

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, create_model

from .._errors import StreamStructError, UnsupportedResponseModelError
from ._once import OncePerKey
from ._partial import _partial_class

__all__ = [
    "WRAPPER_FIELD",
    "ResponseKind",
    "ResponseType",
    "classify_response_model",
    "wrapper_model",
]

WRAPPER_FIELD: Final = "response"
"""The one field of a wrapper model (see the module docstring for why this name)."""

ResponseKind: TypeAlias = Literal["model", "iterable", "wrapped"]


@final
@dataclass(frozen=True, slots=True)
class ResponseType:
    """What a ``response_model`` is, and the model to request and assemble for it.

    ``annotation`` is the ``response_model`` as given. ``model`` is the model class the request and
    the assembler use: the model itself (``kind == "model"``), the wrapper (``"wrapped"``), or
    ``None`` for an iterable, whose ``item_type`` is then the item annotation.
    """

    annotation: Any
    kind: ResponseKind
    model: type[BaseModel] | None
    item_type: Any = None

    @property
    def wrapped(self) -> bool:
        return self.kind == "wrapped"

    @property
    def partial_annotation(self) -> Any:
        """The run-time type of what :meth:`unwrap_partial` gives, ``None`` included (nothing shown
        yet): ``Partial[M] | None`` for a model, ``list[User | Partial[User]] | None`` for
        ``list[User]``; what ``Partial[list[User]]`` can stand for. ``None`` for an iterable."""
        if self.model is None:
            return None
        partial = _partial_class(self.model)
        if self.kind != "wrapped":
            return Optional[partial]  # noqa: UP045 (a runtime type expression)
        return partial.model_fields[WRAPPER_FIELD].annotation

    def unwrap_partial(self, snapshot: Any) -> Any:
        """What the caller sees of a snapshot of :attr:`model` (``None`` before anything shows).

        For a wrapped type, the wrapper's field: a list of partial items, the string so far, a
        partial of the model in an ``Optional``, ...; for a model, the snapshot itself.
        """
        if self.kind != "wrapped" or snapshot is None:
            return snapshot
        # __dict__ rather than getattr: a snapshot is a frozen partial instance whose fields all
        # exist; the lookup is the cheapest there is, as it runs once per snapshot.
        return snapshot.__dict__.get(WRAPPER_FIELD)

    def unwrap_error(self, error: StreamStructError) -> StreamStructError:
        """``error`` with its ``partial`` unwrapped, when the model side set it to a snapshot of
        the wrapper. Its ``text``, ``path`` and pydantic ``errors`` stay as they are: they locate
        the failing value in the JSON that was received (``{"response": ...}``), which is also
        what a re-ask quotes back to the model."""
        partial = error.partial
        if self.model is not None and type(partial) is _partial_class(self.model):
            error.partial = self.unwrap_partial(partial)
        return error

    def unwrap_final(self, value: Any) -> Any:
        """The final answer from the validated :attr:`model` instance (the instance itself unless
        wrapped)."""
        if self.kind != "wrapped":
            return value
        return getattr(value, WRAPPER_FIELD)


# One per annotation: a wrapper class must be the same class for the same type (the partial
# classes and the request plans are cached by class). Unhashable annotations are not cached.
_types: Final[OncePerKey[Any, ResponseType]] = OncePerKey()


def classify_response_model(response_model: Any) -> ResponseType:
    """Read a ``response_model`` (see the module docstring for the three kinds).

    Raises :class:`UnsupportedResponseModelError` for a type pydantic cannot build a validator or
    a JSON schema for (a function, an arbitrary class, an instance instead of a type).
    """
    return _types.get(response_model, _classify)


def _classify(response_model: Any) -> ResponseType:
    if get_origin(response_model) is collections.abc.Iterable or response_model in _BARE_ITERABLES:
        args = get_args(response_model)
        if len(args) != 1:
            raise UnsupportedResponseModelError(
                "an Iterable response_model needs its item type: Iterable[Item]",
                response_model=response_model,
            )
        return ResponseType(response_model, "iterable", None, args[0])
    _json_schema(response_model)  # refuses what pydantic cannot describe, before anything is built
    if _is_model_class(response_model) and not response_model.__pydantic_root_model__:
        # A model's schema is an object (a recursive one's a $ref to it): requested as it is.
        return ResponseType(response_model, "model", response_model)
    # A RootModel is wrapped as any other type: the partial classes treat it as a leaf.
    return ResponseType(response_model, "wrapped", wrapper_model(response_model))


_BARE_ITERABLES: Final = (collections.abc.Iterable, typing.Iterable)


def _is_model_class(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _json_schema(annotation: Any) -> dict[str, Any]:
    if not _is_type_like(annotation):
        raise UnsupportedResponseModelError(
            f"response_model must be a type (a model class, list[Model], int, ...), not "
            f"{type(annotation).__name__} {_shown(annotation)}",
            response_model=annotation,
        )
    try:
        return TypeAdapter(annotation).json_schema()
    except (PydanticUserError, TypeError, ValueError, NameError) as error:
        unsupported = UnsupportedResponseModelError(
            f"response_model {_shown(annotation)} is not a type pydantic can validate and "
            f"describe as JSON: {_first_line(error)}",
            response_model=annotation,
        )
        # Set by hand rather than with ``raise ... from``: callers may be compiled with mypyc,
        # which drops that clause.
        unsupported.__cause__ = error
        unsupported.__suppress_context__ = True
        raise unsupported from error


def _first_line(error: Exception) -> str:
    # pydantic's messages end with a "For further information visit <url>" paragraph.
    return str(error).strip().splitlines()[0]


def _is_type_like(annotation: Any) -> bool:
    """Whether ``annotation`` is a type expression (rather than a value such as ``42``): a class,
    a parametrised generic, a union, ``Literal[...]``, ``Annotated[...]``, ``None`` or ``Any``."""
    return (
        annotation is None
        or annotation is Any
        or isinstance(annotation, type)
        or get_origin(annotation) is not None
        or type(annotation).__module__ in ("typing", "typing_extensions")
    )


def _shown(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or repr(annotation)
    return text if len(text) <= 120 else text[:117] + "..."


_wrappers: Final[OncePerKey[Any, type[BaseModel]]] = OncePerKey()


def wrapper_model(annotation: Any) -> type[BaseModel]:
    """The model ``{"response": <annotation>}`` a non-object response type is requested as.

    Named after the type (``UserList``, ``IntResponse``, ``CatOrDogResponse``, ...), so the tool and the
    schema names say what is asked for; built once per (hashable) annotation.
    """
    return _wrappers.get(annotation, _build_wrapper)


def _build_wrapper(annotation: Any) -> type[BaseModel]:
    name = _type_name(annotation)
    if not name.endswith(("List", "Dict", "Response")):
        name += "Response"
    model: type[BaseModel] = create_model(
        name,
        __module__=__name__,
        __doc__=f"The answer, as the value of the field {WRAPPER_FIELD!r}.",
        __config__=ConfigDict(extra="forbid"),
        response=(annotation, Field(description="The answer.")),  # WRAPPER_FIELD
    )
    return model


_NOT_A_NAME: Final = re.compile(r"[^0-9A-Za-z_]")


def _type_name(annotation: Any) -> str:
    """A readable identifier for a type: ``User``, ``UserList``, ``StrUserDict``, ``CatOrDog``,
    ``OptionalUser``, ``Literal``, ``Int``."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return "Literal"
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in args if arg is not type(None)]
        joined = "Or".join(_type_name(arg) for arg in members)
        return f"Optional{joined}" if len(members) < len(args) else joined
    if origin is not None:
        outer = getattr(origin, "__name__", "") or "Value"
        inner = "".join(_type_name(arg) for arg in args if arg is not Ellipsis)
        return _identifier(inner + outer.capitalize())
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and annotation.__module__ == "builtins":
        return annotation.__name__.capitalize()
    return _identifier(str(getattr(annotation, "__name__", "") or "Value"))


def _identifier(text: str) -> str:
    return _NOT_A_NAME.sub("", text) or "Value"
