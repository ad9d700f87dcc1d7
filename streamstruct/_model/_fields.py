"""Field validation and deferral for the assembler: each value validated when it closes.

Model layer. A complete value is validated against its field (or item) type as soon as the parser
reports it; a field whose validators read ``info.data`` waits for the fields declared before it
(:class:`Deferred`). What was validated is kept per open container (:class:`Frame`), for the
snapshots to show and for the final object to be made from. Errors are
:class:`~streamstruct.ResponseValidationError` with absolute locations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast, final

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from .._core._json import Path
from .._errors import ResponseValidationError
from ._nodes import _FieldSpec, _grows, _ModelNode, _Node, _SequenceNode
from ._nulls import drop_injected_nulls as _drop_injected_nulls
from ._partial import (
    _HIDDEN,
    _MISSING,
    FieldCompleted,
    FieldStarted,
    PartialEvent,
    TextAppended,
)

__all__ = [
    "Deferred",
    "FieldValidator",
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


@final
class FieldValidator:
    """The field side of an assembler: what completed is validated (or deferred), and the
    FieldStarted / FieldCompleted events that go with it.

    ``frames``: per open container, the values of its complete members (the snapshots show them).
    ``open``: the values begun and not complete (FieldStarted sent), a chain of (JSON path, user
    path). ``stale``: the paths whose snapshot showed a value before it was validated (a deferred
    field): the assembler drops their memos. ``partial``: the snapshot an error carries (set by
    the assembler for its validations only: kept, it would hold a list made again later).
    """

    __slots__ = (
        "context",
        "drop",
        "events",
        "frames",
        "from_members",
        "offset",
        "open",
        "partial",
        "root",
        "stale",
        "text",
    )

    def __init__(
        self,
        root: _ModelNode,
        *,
        text: Callable[[], str] | None,
        context: Any,
        drop: bool,
        events: bool,
        from_members: bool,
        offset: int = 0,
    ) -> None:
        self.root = root
        self.offset = offset  # the keys the events' paths leave out (event_path_offset)
        self.text = text
        self.context = context
        self.drop = drop
        self.events = events
        self.from_members = from_members
        self.frames: dict[Path, Frame] = {}
        self.open: list[tuple[Path, Path]] = []
        self.stale: list[Path] = []
        self.partial: Any = None

    def close_root(self, events: list[PartialEvent]) -> None:
        """The root object closed: its deferred fields are validated now."""
        root = self.frames.get(())
        if root is not None and root.deferred:
            self._flush(self.root, root, (), events, closing=True)

    def validated_fields(self, value: Any) -> dict[str, Any] | None:
        """The root object with each field's value as validated when it closed, when the model
        takes them as they are (``from_members``): the final object then holds the very members
        the events and snapshots showed, and no second copy of them is made from the JSON (for a
        table, a second copy of every row). None when a field was not validated on its own."""
        root = self.frames.get(())
        if not self.from_members or root is None or root.deferred or not isinstance(value, dict):
            return None
        fields = self.root.fields
        out: dict[str, Any] = {}
        for key, raw in value.items():
            if key not in fields:
                out[key] = raw  # an unknown key: the model's config decides, from the JSON
                continue
            validated = root.values.get(key, _MISSING)
            if validated is _MISSING or validated is _HIDDEN:
                return None
            out[key] = validated
        return out

    def _locate(self, path: Path) -> tuple[_Node, Path] | None:
        """The node at ``path`` and its user path, or None when ``path`` is not typed on its own."""
        node: _Node = self.root
        names: list[str | int] = []
        for key in path:
            child = node.child(key)  # None below a union or Any, and for unknown keys
            if child is None:
                return None
            names.append(node.name_of(key))
            node = child
        return node, tuple(names)

    def complete(
        self, path: Path, value: Any, start: int, end: int, sent: int, events: list[PartialEvent]
    ) -> None:
        """Validate the value at ``path``, reported complete (``start``-``end`` in the text), or
        defer it; ``sent``: how much of it, a string, TextAppended events sent already."""
        located = self._locate(path[:-1])
        if located is None:
            return  # inside a union or Any: validated with the value that holds it
        parent, parent_names = located
        key = path[-1]
        node = parent.child(key)
        if node is None:
            return  # a key the model does not know: pydantic's verdict comes at finish
        names = (*parent_names, parent.name_of(key))
        frame, own = self._frames_at(path, node, events)
        started = self._close(path, parent_names, events)
        spec = parent.fields[cast(str, key)] if isinstance(parent, _ModelNode) else None
        if self.drop:
            if value is None and spec is not None and key in cast(_ModelNode, parent).droppable:
                self._absent(cast(_ModelNode, parent), frame, spec, path, events)
                return
            value = _drop_injected_nulls(value, parent.child_annotation(key))
        if own is not None and spec is not None and isinstance(node, _SequenceNode):
            # Its members were validated as each closed: a second copy of them is not made.
            value = validated_members(own, value, cast(_ModelNode, parent).idempotent(spec))
        if self.events:
            self._closing_events(names[self.offset :], node, value, started, sent, events)
        if spec is None:
            self._validate(parent, frame, key, value, start, end, names, path, events)
            return
        model = cast(_ModelNode, parent)
        frame.done.add(spec.name)
        if spec.reads_data and not ready(model, frame, spec):
            frame.deferred[spec.name] = Deferred(cast(str, key), value, start, end, names)
            frame.values[key] = value if _grows(node, value) else _HIDDEN  # shown as written
            return
        self._validate(parent, frame, key, value, start, end, names, path, events)
        if frame.deferred:
            self._flush(model, frame, path[:-1], events, closing=False)

    def _frames_at(
        self, path: Path, node: _Node, events: list[PartialEvent]
    ) -> tuple[Frame, Frame | None]:
        """The frame of the container of ``path`` (made if new), and the frame of the value at
        ``path`` that closed (taken off: its members' values are no longer needed, once all of
        them are validated), if it had one."""
        frame = self.frames.get(path[:-1])
        if frame is None:
            frame = self.frames[path[:-1]] = Frame()
        own = self.frames.pop(path, None)
        if own is not None and own.deferred and isinstance(node, _ModelNode):
            self._flush(node, own, path, events, closing=True)
        return frame, own

    def _absent(
        self,
        model: _ModelNode,
        frame: Frame,
        spec: _FieldSpec,
        path: Path,
        events: list[PartialEvent],
    ) -> None:
        """The field at ``path`` is a null a strict schema injected: absent, the default applies
        (at finish); the fields waiting for it may be validated."""
        frame.values[path[-1]] = _HIDDEN
        frame.done.add(spec.name)
        if frame.deferred:
            self._flush(model, frame, path[:-1], events, closing=False)

    def _close(self, path: Path, parent_names: Path, events: list[PartialEvent]) -> bool:
        """FieldStarted for the containers above ``path``, which closed; whether FieldStarted was
        sent for it (it is taken off the chain of values begun)."""
        self.start(path[:-1], parent_names, events)
        depth = len(path)
        started = len(self.open) >= depth and self.open[depth - 1][0] == path
        del self.open[depth - 1 :]
        return started

    @staticmethod
    def _closing_events(
        names: Path, node: _Node, value: Any, started: bool, sent: int, events: list[PartialEvent]
    ) -> None:
        """The events of a value that closed before FieldCompleted: FieldStarted if none was sent,
        and the rest of a string shown as it grows (``sent`` characters were)."""
        if not started:
            events.append(FieldStarted(names))
        if _grows(node, value):
            rest = value[sent:] if sent else value
            if rest:
                events.append(TextAppended(names, rest))

    def _validate(
        self,
        parent: _Node,
        frame: Frame,
        key: str | int,
        value: Any,
        start: int,
        end: int,
        names: Path,
        path: Path,
        events: list[PartialEvent],
    ) -> None:
        try:
            validated = parent.validate_child(key, value, frame.siblings, self.context)
        except ValidationError as error:
            failure = self._error(error, path, start, end, isinstance(parent, _ModelNode))
            raise caused_by(failure, error) from error
        frame.values[key] = validated
        if isinstance(parent, _ModelNode):
            frame.siblings[cast(str, names[-1])] = validated
        if self.events:
            events.append(FieldCompleted(names[self.offset :], validated))

    def _flush(
        self,
        model: _ModelNode,
        frame: Frame,
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
                    frame.siblings[spec.name] = field_default(field, frame.siblings)
        for name in sorted(frame.deferred, key=lambda n: model.by_name[n].order):
            if closing or ready(model, frame, model.by_name[name]):
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
                self.stale.append(path)  # its snapshot showed the value unvalidated: rebuild

    def start(self, path: Path, names: Path, events: list[PartialEvent]) -> None:
        """Send FieldStarted for ``path`` and the paths above it that were not reported yet."""
        stack = self.open
        for depth in range(1, len(path) + 1):
            if len(stack) >= depth and stack[depth - 1][0] == path[:depth]:
                continue
            del stack[depth - 1 :]
            stack.append((path[:depth], names[:depth]))
            if self.events:
                events.append(FieldStarted(names[self.offset : depth]))

    def _error(
        self, error: ValidationError, path: Path, start: int, end: int, field: bool
    ) -> ResponseValidationError:
        # pydantic's locations are relative to what was validated (the field by name, or the item):
        # made absolute, in JSON keys, like the locations of a whole-model validation.
        errors: list[Any] = []
        for detail in error.errors(include_url=False):
            loc = detail["loc"][1:] if field else detail["loc"]
            errors.append({**detail, "loc": (*path, *loc)})
        text = self.text() if self.text is not None else ""
        return ResponseValidationError(
            f"invalid value at {format_path(path)}: {summary(errors, len(path))}",
            errors=errors,
            path=path,
            raw=text[start:end] if self.text is not None else None,
            partial=self.partial,
            text=text,
        )

    # -- snapshots ------------------------------------------------------------------------------


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
