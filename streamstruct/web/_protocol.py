"""The web protocol's encoder, sans-I/O: stream events in, ``text/event-stream`` bytes out.

docs/web.md is the spec. In short: a ``start`` event, then one ``ops`` event per snapshot the stream
made (so the value a browser rebuilds after each ``ops`` event is that snapshot), then ``end``
with the validated value, or ``error``. An operation says what changed at a path: a value set, text
appended, a value complete. Each piece of the answer is sent once (text as it is appended, a
complete value when it closes), so the bytes sent are linear in the output.

Why a mirror of what the browser holds: a value's validated form may differ from what was streamed
(defaults filled in, a validator's rewrite). When a value completes, its validated JSON is compared
with the mirror; only what differs is sent. Text being appended is kept as pieces, joined once when
the string completes (appending to a ``str`` in place would copy it on every piece).

Nothing here awaits: the async side (``streamstruct.web``) only relays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, final

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

from .._core._wire import Usage
from .._errors import StreamStructError
from .._io._stream import StreamEnded
from .._model._partial import FieldCompleted, FieldStarted, SnapshotEvent, TextAppended
from .._request._reask import Reasked

__all__ = [
    "KEEP_ALIVE",
    "PROTOCOL_VERSION",
    "ItemsEncoder",
    "ObjectEncoder",
    "error_frame",
    "frame",
    "snapshot_json",
]

PROTOCOL_VERSION: Final = 1
KEEP_ALIVE: Final = b": keep-alive\n\n"

Path = tuple[str | int, ...]
_UNSET: Final[Any] = object()  # a slot of the mirror nothing was put in yet


def frame(event: str, data: object) -> bytes:
    """One server-sent event: its name and its data, one line of JSON (JSON escapes newlines).

    pydantic-core writes the JSON: compact UTF-8, a third of the time of ``json.dumps``."""
    try:
        payload = to_json(data)
    except PydanticSerializationError:
        # A lone surrogate (a model may write "\ud800" alone: valid JSON) has no UTF-8 form;
        # json.dumps escapes it, and the browser's JSON.parse gives the same string back.
        payload = json.dumps(data, separators=(",", ":")).encode()
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


def _json(value: object) -> Any:
    """A validated value as JSON, as ``model_dump(mode="json")`` writes it."""
    return to_jsonable_python(value, by_alias=False)


def snapshot_json(value: object) -> Any:
    """A snapshot (``Partial[M]``) as the browser holds it: the fields begun, nothing else.

    A partial object lists the fields it has (its ``model_fields_set``); a complete value is
    dumped whole, as ``model_dump(mode="json")`` does.
    """
    if isinstance(value, BaseModel):
        if not hasattr(type(value), "__streamstruct_model__"):
            return value.model_dump(mode="json")
        present = value.model_fields_set
        return {
            name: snapshot_json(getattr(value, name))
            for name in type(value).model_fields
            if name in present
        }
    if isinstance(value, (list, tuple)):
        return [snapshot_json(item) for item in value]
    if isinstance(value, dict):
        return {key: snapshot_json(item) for key, item in value.items()}
    return _json(value)


def error_frame(error: StreamStructError) -> bytes:
    """The ``error`` event: the error's type and message, and the partial value it carries."""
    partial = getattr(error, "partial", None)
    return frame(
        "error",
        {
            "type": type(error).__name__,
            "message": str(error),
            "partial": None if partial is None else snapshot_json(partial),
        },
    )


def _end_frame(value: object, usage: Usage | None, finish_reason: str | None) -> bytes:
    return frame(
        "end",
        {
            "value": _json(value),
            "usage": None if usage is None else _json(usage),
            "finish_reason": finish_reason,
        },
    )


@final
class ObjectEncoder:
    """Events of ``create_partial(...).events()`` in, the protocol's frames out."""

    __slots__ = ("_batch", "_last_append", "_opaque", "_pending", "_root", "_text")

    def __init__(self) -> None:
        self._root: list[Any] = [_UNSET]  # the mirror: what the browser holds, in a holder
        self._batch: list[FieldStarted | TextAppended | FieldCompleted] = []
        self._text: dict[Path, list[str]] = {}  # the strings being appended to, as pieces
        self._last_append: tuple[Path, list[Any]] | None = None  # to merge the next piece in
        # Values begun that no event has yet been seen inside: below a union or ``Any`` the stream
        # reports nothing until the value completes, so their snapshots are compared instead.
        self._opaque: set[Path] = set()
        # Values begun that their snapshot does not show yet (a union until its member can be
        # told, a value Atomic or NotNull withholds): started once a snapshot shows them.
        self._pending: set[Path] = set()

    @staticmethod
    def start() -> bytes:
        return frame("start", {"version": PROTOCOL_VERSION, "kind": "object"})

    def feed(self, event: object) -> bytes | None:
        """One event of the stream; a frame when it was a snapshot, else None (kept for it)."""
        if isinstance(event, SnapshotEvent):
            return frame("ops", self._operations(event.partial))
        if isinstance(event, StreamEnded):
            return _end_frame(event.value, event.usage, event.finish_reason)
        if isinstance(event, Reasked):
            return self._reasked(event)
        assert isinstance(event, (FieldStarted, TextAppended, FieldCompleted))
        self._batch.append(event)
        return None

    def _reasked(self, event: Reasked) -> bytes:
        """The answer was rejected and is asked again (``max_reasks``): the browser drops what it
        holds, and the new answer's first snapshot sets the root again (the mirror starts over)."""
        self._root[0] = _UNSET
        self._batch.clear()
        self._text.clear()
        self._last_append = None
        self._opaque.clear()
        data = {"attempt": event.attempt, "message": str(event.error)}
        return frame("reasked", data)

    def _operations(self, snapshot: object) -> list[list[Any]]:
        """The operations that bring the browser from the last snapshot to this one."""
        ops: list[list[Any]] = []
        if self._root[0] is _UNSET:
            self._root[0] = {}
            ops.append(["set", [], {}])
        for event in self._batch:
            if self._opaque:
                self._seen_inside(event)
            if isinstance(event, TextAppended):
                self._append(event.path, event.text, ops)
            elif isinstance(event, FieldCompleted):
                if self._pending:
                    size = len(event.path)
                    self._pending = {p for p in self._pending if p[:size] != event.path}
                self._complete(event.path, event.value, ops)
            else:
                self._start(event.path, snapshot, ops)
        self._batch.clear()
        for path in sorted(self._pending, key=len) if self._pending else ():
            self._pending.discard(path)
            self._start(path, snapshot, ops)  # (pending again while still not shown)
        if self._opaque:
            for path in sorted(self._opaque, key=len):
                self._refresh(path, snapshot, ops)
        for op in ops:
            if op[0] == "append":
                op[2] = "".join(op[2])
        return ops

    def _start(self, path: Path, snapshot: object, ops: list[list[Any]]) -> None:
        # The event does not say what kind of value began: the snapshot shows it. A scalar is
        # shown only once complete, so nothing is sent for it until then.
        shown = _value_at(snapshot, path)
        empty: type[str | list[Any] | dict[str, Any]]
        if isinstance(shown, str):
            empty = str
        elif isinstance(shown, (list, tuple)):
            empty = list
        elif isinstance(shown, (BaseModel, dict)):
            empty = dict
        else:
            if shown is None or shown is _UNSET:
                self._pending.add(path)
            return
        # Two empty values: the mirror's own container fills in before the operation is sent.
        if self._put(path, empty()):
            ops.append(["set", list(path), empty()])
            self._opaque.add(path)

    def _seen_inside(self, event: FieldStarted | TextAppended | FieldCompleted) -> None:
        """The value holding the event's path reports its changes: no need to compare it."""
        path = event.path
        self._opaque.discard(path[:-1])
        if isinstance(event, TextAppended):
            self._opaque.discard(path)
        elif isinstance(event, FieldCompleted) and self._opaque:
            self._opaque -= {p for p in self._opaque if p[: len(path)] == path}

    def _refresh(self, path: Path, snapshot: object, ops: list[list[Any]]) -> None:
        """An opaque value: what its snapshot shows that the mirror lacks, as operations."""
        shown = _value_at(snapshot, path)
        if shown is _UNSET:
            return
        new = snapshot_json(shown)
        _diff(path, self._get(path), new, ops)
        self._put(path, new)  # the operations hold parts of ``new``: they are sent before it moves

    def _append(self, path: Path, text: str, ops: list[list[Any]]) -> None:
        pieces = self._text.get(path)
        if pieces is None:
            pieces = self._text[path] = []
        pieces.append(text)
        last = self._last_append
        if last is not None and ops and ops[-1] is last[1] and last[0] == path:
            last[1][2].append(text)  # one operation for the pieces of one batch, joined once
        else:
            op: list[Any] = ["append", list(path), [text]]
            ops.append(op)
            self._last_append = (path, op)

    def _complete(self, path: Path, value: object, ops: list[list[Any]]) -> None:
        new = _json(value)
        pieces = self._text.pop(path, None)
        if pieces is not None:
            self._put(path, "".join(pieces))
        old = self._get(path)
        if old is not _UNSET and old == new:
            ops.append(["done", list(path)])
            return
        if isinstance(old, dict) and isinstance(new, dict) and old.keys() <= new.keys():
            for key, item in new.items():
                self._complete_member((*path, key), old.get(key, _UNSET), item, ops)
            ops.append(["done", list(path)])
        elif isinstance(old, list) and isinstance(new, list) and len(old) <= len(new):
            for index, item in enumerate(new):
                self._complete_member((*path, index), _at(old, index), item, ops)
            ops.append(["done", list(path)])
        else:
            ops.append(["done", list(path), new])
        self._put(path, new)

    def _complete_member(self, path: Path, old: Any, new: Any, ops: list[list[Any]]) -> None:
        """A member of a completed container whose validated form differs: sent only if it does."""
        if old is _UNSET or old != new:
            ops.append(["set", list(path), new])

    def _get(self, path: Path) -> Any:
        node: Any = self._root[0]
        for key in path:
            node = _at(node, key)
            if node is _UNSET:
                break
        return node

    def _put(self, path: Path, value: Any) -> bool:
        """Put a value in the mirror; False if its parent is not there (nothing to put it in)."""
        if not path:
            self._root[0] = value
            return True
        parent = self._get(path[:-1])
        key = path[-1]
        if isinstance(parent, dict):
            parent[key] = value
        elif isinstance(parent, list) and isinstance(key, int) and key <= len(parent):
            if key == len(parent):
                parent.append(value)
            else:
                parent[key] = value
        else:
            return False
        return True


def _at(node: Any, key: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(key, _UNSET)
    if isinstance(node, list) and isinstance(key, int):
        return node[key] if 0 <= key < len(node) else _UNSET
    return _UNSET


def _diff(path: Path, old: Any, new: Any, ops: list[list[Any]]) -> None:
    """The operations that turn ``old`` into ``new`` at ``path``: text appended, members set."""
    if old == new:
        return
    if isinstance(old, str) and isinstance(new, str) and new.startswith(old):
        ops.append(["append", list(path), [new[len(old) :]]])  # pieces, joined as the others
    elif isinstance(old, dict) and isinstance(new, dict) and old.keys() <= new.keys():
        for key, item in new.items():
            if key in old:
                _diff((*path, key), old[key], item, ops)
            else:
                ops.append(["set", [*path, key], item])
    elif isinstance(old, list) and isinstance(new, list) and len(old) <= len(new):
        for index, item in enumerate(new):
            if index < len(old):
                _diff((*path, index), old[index], item, ops)
            else:
                ops.append(["set", [*path, index], item])
    else:
        ops.append(["set", list(path), new])


def _value_at(snapshot: object, path: Path) -> Any:
    """The value at ``path`` in a snapshot (attribute names, indexes, dict keys), or _UNSET."""
    node: Any = snapshot
    for key in path:
        if isinstance(node, BaseModel) and isinstance(key, str):
            node = getattr(node, key, _UNSET)
        elif isinstance(node, dict):
            node = node.get(key, _UNSET)
        elif isinstance(node, Sequence) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return _UNSET
        if node is None:
            return _UNSET
    return node


@final
class ItemsEncoder:
    """Items of ``create_iterable(...)`` in, the protocol's frames out: one ``done`` per item."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = 0

    @staticmethod
    def start() -> bytes:
        return frame("start", {"version": PROTOCOL_VERSION, "kind": "items"})

    def item(self, item: object) -> bytes:
        index = self._count
        self._count += 1
        return frame("ops", [["done", [index], _json(item)]])

    @staticmethod
    def end(items: list[Any], usage: Usage | None, finish_reason: str | None) -> bytes:
        return _end_frame(items, usage, finish_reason)
