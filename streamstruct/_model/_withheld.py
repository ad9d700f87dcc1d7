"""What the streaming annotations withhold from a snapshot, and the field events that go with it.

Model layer (pydantic; no I/O). When the response model carries :data:`~streamstruct.Atomic` or
:data:`~streamstruct.NotNull` somewhere (:func:`~streamstruct._model._annotations.stream_annotations`,
read once per response), :class:`~streamstruct.PartialAssembler` hands each advance's events to
a :class:`WithheldView`. A model without markers never builds one: it pays nothing.

Two ways, one result (``ViewShortcuts.in_build``; the side-by-side tests compare them). The
assembler's way: it leaves out what is withheld as it builds each level
(:mod:`~streamstruct._model._withholding`) and tells the view the path of the value it left out;
the view only holds back the field events (:meth:`WithheldView.hold`). The plain way, described
below: the assembler builds its snapshots as for a plain model and the view takes out of each
the one value the annotations say is not to be shown yet, after the fact.

Why one value at most, and only on the spine: a snapshot holds complete (validated) values and
one chain of open ones, from the root to the character being written (the snapshot info's
``chain``). A complete value breaks no promise (an atomic one is whole; an object whose
``NotNull`` field ended null or absent is shown complete, as ``get_final()`` will be). Only the
open values can, and hiding the highest of them hides everything below it. So the view walks the
chain once, at most as deep as the JSON, and copies the levels above the withheld value (a long
list is not copied again while only its open member changes: see :meth:`WithheldView._same`).

Field events follow the snapshots: an event for a path inside the withheld value is held back
and sent, in order, with the first snapshot that shows that value (an atomic string's
``FieldStarted``, its ``TextAppended`` pieces and its ``FieldCompleted`` then come together). A
consumer of events sees nothing the snapshots do not show.
"""

from __future__ import annotations

from typing import Any, Final, cast, final

from .._core._json import Path
from ._annotations import ModelAnnotations, Position, StreamAnnotations
from ._partial import (
    FieldCompleted,
    FieldStarted,
    SnapshotEvent,
    TextAppended,
    _PartialModel,
    _SnapshotInfo,
)
from ._shortcuts import ALL_VIEW_SHORTCUTS, ViewShortcuts

__all__ = ["WithheldView"]

_NO_POSITIONS: Final[frozenset[Position]] = frozenset()


@final
class WithheldView:
    """The snapshots and field events of one response, less what the annotations withhold."""

    __slots__ = (
        "_annotations",
        "_class_table",
        "_classes",
        "_hidden",
        "_levels",
        "_offset",
        "_shown",
        "held",
        "in_build",
    )

    def __init__(
        self,
        annotations: StreamAnnotations,
        offset: int = 0,
        shortcuts: ViewShortcuts = ALL_VIEW_SHORTCUTS,
    ) -> None:
        self._annotations = annotations
        # ViewShortcuts.class_table: each class's markers (_markers_of), read once per class.
        self._class_table = shortcuts.class_table
        # ViewShortcuts.in_build: the assembler leaves out what is withheld; the view only holds
        # back the field events (hold), told where.
        self.in_build = shortcuts.in_build
        self._classes: dict[type, Any] = {}
        # The keys the field events' paths leave out (the assembler's event_path_offset): the
        # withheld path is compared with theirs from there on.
        self._offset = offset
        # The field events inside the withheld value, in order (read by the assembler: none
        # held and nothing withheld, it need not call hold).
        self.held: list[FieldStarted | TextAppended | FieldCompleted] = []
        self._hidden: Path | None = None  # the path of the value withheld from the last snapshot
        self._levels: list[Any] = []  # the last shown snapshot's objects above it, from the root
        self._shown: Any = None

    @property
    def shown(self) -> Any:
        """The last snapshot as shown (None before the first)."""
        return self._shown

    def filter(self, events: list[Any], grew: Path | None = None) -> list[Any]:
        """``events`` (one advance's, in order) as the annotations let them be seen. ``grew``:
        the path of the one string that grew, when nothing else changed (most events): what is
        withheld stays as it was, so the snapshot is the new one, or none if it grew inside the
        withheld value, without a walk down the chain."""
        out: list[Any] = []
        last = events[-1] if events else None
        if grew is not None and type(last) is SnapshotEvent:
            hidden = self._hidden
            if hidden is None:
                self._shown = last.partial
                return events
            if grew[: len(hidden)] == hidden:
                self.held.extend(events[:-1])
                return out
        if type(last) is SnapshotEvent:
            before = self._shown
            self._show(last.partial)
            if self.held:
                out.extend(self._release())
            out.extend(self._sort(events[:-1]))
            if self._shown is not before:
                out.append(SnapshotEvent(self._shown))
            return out
        return self._sort(events)

    def hold(self, events: list[Any], withheld: Path | None) -> list[Any]:
        """``events`` (one advance's, in order, its snapshot already without what is withheld)
        less the field events inside the value at ``withheld`` (None: nothing is), held back
        until a snapshot shows it, with the held events it shows now."""
        if withheld is None and not self.held:
            self._hidden = None
            return events
        self._hidden = withheld
        out = self._release() if self.held else []
        out.extend(self._sort(events))
        return out

    def final(self, snapshot: Any) -> None:
        """The complete snapshot (``final_snapshot``): nothing is withheld any more."""
        self._shown, self._hidden, self._levels = snapshot, None, []

    # -- events -----------------------------------------------------------------------------

    def _sort(self, events: list[Any]) -> list[Any]:
        if self._hidden is None:
            return events
        hidden = self._hidden[self._offset :]
        size = len(hidden)
        passed: list[Any] = []
        for event in events:
            if type(event) is not SnapshotEvent and event.path[:size] == hidden:
                self.held.append(event)
            else:
                passed.append(event)
        return passed

    def _release(self) -> list[Any]:
        """The held events no longer inside the withheld value (all of them, but those inside
        the value withheld now)."""
        if self._hidden is None:
            released, self.held = self.held, []
            return released
        hidden = self._hidden[self._offset :]
        size = len(hidden)
        released = [e for e in self.held if e.path[:size] != hidden]
        self.held = [e for e in self.held if e.path[:size] == hidden]
        return released

    # -- snapshots --------------------------------------------------------------------------

    def _show(self, snapshot: Any) -> None:
        private = snapshot.__pydantic_private__ if isinstance(snapshot, _PartialModel) else None
        info = private.get("_streamstruct_snapshot") if private else None
        found = None if info is None or info.complete else self._withheld(snapshot, info.chain)
        if found is None:
            self._shown, self._hidden, self._levels = snapshot, None, []
            return
        chain, objects = found
        same_place = chain == self._hidden
        previous = self._levels if same_place else []
        levels: list[Any] = [None] * len(objects)
        below: Any = _WITHOUT
        for depth in range(len(objects) - 1, -1, -1):
            last = previous[depth] if same_place else None
            below = self._level(objects[depth], chain[depth:], below, last)
            levels[depth] = below
        self._hidden, self._levels, self._shown = chain, levels, levels[0]

    def _withheld(self, snapshot: Any, chain: Path) -> tuple[Path, list[Any]] | None:
        """The path of the highest open value the annotations withhold, and the objects above it
        (from the root), or None when the snapshot shows everything it holds."""
        class_table = self._class_table
        classes = self._classes
        objects: list[Any] = []
        obj: Any = snapshot
        positions = _NO_POSITIONS
        size = len(chain)
        for depth in range(size + 1):
            step = chain[depth] if depth < size else None
            kind = type(obj)
            if class_table:
                # Measured with the flag off and on, interleaved (benchmarks.annotations' feeds,
                # CPU time, paired medians of annotated / plain): table 1.32 -> 1.22 compiled
                # (0.92-0.93x), 1.23 -> 1.19 pure (0.97x); chat 1.09-1.10 -> 1.07 compiled
                # (0.97x), 1.09 pure (0.99x).
                marks = classes.get(kind, _UNSEEN)
                if marks is _UNSEEN:
                    marks = classes[kind] = self._markers_of(kind)
            else:
                marks = self._markers_of(kind)
            if marks is not None:
                positions = _NO_POSITIONS
                if marks is not _UNMARKED:
                    if type(step) is str:
                        positions = marks.atomic.get(step, _NO_POSITIONS)
                    atomic = () in positions
                    if depth and not _has_values(obj, marks, step, atomic):
                        return chain[:depth], objects  # NotNull: the object itself waits
                    if atomic:
                        return chain[: depth + 1], [*objects, obj]
                objects.append(obj)
                obj = obj.__dict__.get(step) if type(step) is str else None
                continue
            if step is None:
                return None
            if (kind is list or kind is tuple) and type(step) is int:
                positions = _inside(positions, "item")
                if () in positions:
                    return chain[: depth + 1], [*objects, obj]
                objects.append(obj)
                obj = obj[step] if step < len(obj) else None
            elif kind is dict:
                positions = _inside(positions, "value")
                if () in positions:
                    return chain[: depth + 1], [*objects, obj]
                objects.append(obj)
                obj = obj.get(step)
            else:
                return None
        return None

    def _markers_of(self, kind: type) -> Any:
        """The markers of the model the partial class ``kind`` stands for (``_UNMARKED``: it has
        none), or None when ``kind`` is not a partial class. A partial class names its model (a
        class attribute: cheaper than isinstance on a pydantic class, which runs its metaclass's
        check)."""
        model = getattr(kind, "__streamstruct_model__", None)
        if model is None:
            return None
        return self._annotations.models.get(model, _UNMARKED)

    def _level(self, obj: Any, chain: Path, below: Any, last: Any) -> Any:
        """``obj`` with its member ``chain[0]`` replaced by ``below`` (left out: ``_WITHOUT``);
        ``chain`` is the path from ``obj`` to the withheld value. ``last``, the same level of the
        last shown snapshot when it withheld the same path, if it shows the same."""
        step = chain[0]
        if last is not None and _same(obj, step, below, last):
            return last
        if isinstance(obj, _PartialModel):
            assert isinstance(step, str)
            # What is being written, as far as the snapshot shows: the withheld value (so
            # progress() counts it as streaming, whatever is being written inside it).
            return _with_member(obj, step, below, _SnapshotInfo(chain, False))
        if isinstance(obj, dict):
            made_dict = dict(obj)
            if below is _WITHOUT:
                made_dict.pop(step, None)
            else:
                made_dict[step] = below
            return made_dict
        assert isinstance(step, int)
        if below is _WITHOUT:
            return obj[:step]  # the open member is the last one
        items = list(obj)
        items[step] = below
        return tuple(items) if isinstance(obj, tuple) else items


_WITHOUT: Final[Any] = object()
_UNSEEN: Final[Any] = object()  # a class not in the view's table yet
_UNMARKED: Final[Any] = object()  # a partial class whose model has no markers

_set_attribute: Final = object.__setattr__  # partial classes are frozen


def _with_member(obj: Any, name: str, value: Any, info: _SnapshotInfo) -> Any:
    """A copy of the snapshot object ``obj`` with ``value`` as its field ``name`` (``_WITHOUT``:
    not set), and ``info``: made directly, as ``_memo.snapshot_object`` makes them (a fifth of
    what ``model_copy`` costs)."""
    cls: Any = type(obj)
    made = cls.__new__(cls)
    values = dict(obj.__dict__)
    fields = set(obj.__pydantic_fields_set__)
    if value is _WITHOUT:
        values[name] = None
        fields.discard(name)
    else:
        values[name] = value
        fields.add(name)
    _set_attribute(made, "__dict__", values)
    _set_attribute(made, "__pydantic_fields_set__", fields)
    _set_attribute(made, "__pydantic_extra__", obj.__pydantic_extra__)
    _set_attribute(made, "__pydantic_private__", {"_streamstruct_snapshot": info})
    return made


def _same(obj: Any, step: str | int, below: Any, last: Any) -> bool:
    """Whether ``last`` (a level made from an earlier snapshot, withholding the same path) shows
    what ``obj`` with ``below`` at ``step`` would. A stream only adds: members before the open one
    are complete and never change, so for a list (which may be long) its length and last members
    tell."""
    if isinstance(obj, _PartialModel):
        return type(last) is type(obj) and _same_model(obj, cast(str, step), below, last)
    if isinstance(obj, dict):
        return _same_dict(obj, step, below, last)
    if not isinstance(obj, list | tuple) or type(last) is not type(obj):
        return False
    assert isinstance(step, int)
    return _same_sequence(obj, step, below, last)


def _same_model(obj: Any, step: str, below: Any, last: Any) -> bool:
    """``_same`` for a partial model ``last`` of the same class as ``obj``."""
    mine, theirs = obj.__dict__, last.__dict__
    if below is _WITHOUT:
        return theirs[step] is None and all(
            theirs[name] is value for name, value in mine.items() if name != step
        )
    return all(theirs[name] is (below if name == step else value) for name, value in mine.items())


def _same_dict(obj: dict[Any, Any], step: str | int, below: Any, last: Any) -> bool:
    """``_same`` for a dict ``obj``."""
    if below is _WITHOUT:
        return len(last) == len(obj) - 1 and all(
            last.get(key, _WITHOUT) is value for key, value in obj.items() if key != step
        )
    return len(last) == len(obj) and all(
        last.get(key, _WITHOUT) is (below if key == step else value) for key, value in obj.items()
    )


def _same_sequence(obj: Any, step: int, below: Any, last: Any) -> bool:
    """``_same`` for a list or tuple ``last`` of the same type as ``obj``."""
    if below is _WITHOUT:
        return len(last) == step and (step == 0 or last[-1] is obj[step - 1])
    return (
        len(last) == len(obj)
        and last[step] is below
        and (step == 0 or last[step - 1] is obj[step - 1])
    )


def _has_values(obj: Any, marks: ModelAnnotations, open_name: Any, open_hidden: bool) -> bool:
    """Whether every ``NotNull`` field of ``obj`` has a value shown (the open one, ``open_name``,
    has none while an ``Atomic`` on it hides it)."""
    values = obj.__dict__
    for name in marks.not_null:
        if values.get(name) is None or (open_hidden and name == open_name):
            return False
    return True


def _inside(positions: frozenset[Position], step: str) -> frozenset[Position]:
    """The positions below one ``step`` ("item" or "value") into a container."""
    if not positions:
        return positions
    return frozenset(position[1:] for position in positions if position and position[0] == step)
