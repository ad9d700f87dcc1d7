"""Field validation and deferral for the assembler: each value validated when it closes.

Model layer. A complete value is validated against its field (or item) type as soon as the parser
reports it; a field whose validators read ``info.data`` waits for the fields declared before it
(:class:`Deferred`). What was validated is kept per open container (:class:`Frame`), for the
snapshots to show and for the final object to be made from. Errors are
:class:`~streamstruct.ResponseValidationError` with absolute locations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, final

from pydantic.fields import FieldInfo

from ._errors import ResponseValidationError
from ._json import Path
from ._nodes import _FieldSpec, _ModelNode
from ._partial import _HIDDEN

__all__ = [
    "Deferred",
    "Frame",
    "caused_by",
    "field_default",
    "format_path",
    "ready",
    "summary",
    "validated_members",
]


@final
class Frame:
    """An open value on the spine that has complete members: their validated values."""

    __slots__ = ("deferred", "done", "siblings", "values")

    def __init__(self) -> None:
        self.values: dict[str | int, Any] = {}  # JSON key → validated value (or _HIDDEN)
        self.siblings: dict[str, Any] = {}  # a model's validated fields by name: ``info.data``
        self.done: set[str] = set()  # a model's fields complete (validated, deferred or dropped)
        # A model's fields complete but not validated yet, by name: their validators read
        # ``info.data`` and a field declared before them has not come (see Deferred).
        self.deferred: dict[str, Deferred] = {}


@final
@dataclass(frozen=True, slots=True)
class Deferred:
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


def validated_members(own: Frame, value: Any, idempotent: bool) -> Any:
    """A list field's value: its members as validated when each closed, when the field takes them
    as they are (``idempotent``) and every one was; else ``value``, its JSON value."""
    if not idempotent or not isinstance(value, list) or len(own.values) != len(value):
        return value
    members = [own.values.get(index, _HIDDEN) for index in range(len(value))]
    return value if any(member is _HIDDEN for member in members) else members


def caused_by(failure: ResponseValidationError, cause: BaseException) -> ResponseValidationError:
    """``failure`` with ``cause`` as its ``__cause__``: what ``raise failure from cause`` does, which
    mypyc-compiled code does not (it drops the ``from`` clause)."""
    failure.__cause__ = cause  # also sets __suppress_context__
    return failure


def field_default(field: FieldInfo, data: dict[str, Any]) -> Any:
    """A field's default, its factory called (given the data so far when it takes it)."""
    try:
        return field.get_default(call_default_factory=True, validated_data=dict(data))
    except TypeError:  # pydantic < 2.10: factories take no data
        return field.get_default(call_default_factory=True)


def ready(model: _ModelNode, frame: Frame, spec: _FieldSpec) -> bool:
    """Whether every field declared before ``spec`` is complete in ``frame``."""
    return all(
        other.name in frame.done for other in model.by_name.values() if other.order < spec.order
    )


def format_path(path: Path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "the root"


def summary(errors: list[Any], skip: int = 0) -> str:
    """The first of pydantic's errors in a sentence (its location past the first ``skip`` keys),
    and how many more there are."""
    if not errors:
        return "validation failed"
    first = errors[0]
    where = format_path(tuple(first["loc"][skip:])) if len(first["loc"]) > skip else ""
    text = str(first["msg"]) + (f" (at {where})" if where else "")
    if len(errors) > 1:
        text += f" and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''}"
    return text
