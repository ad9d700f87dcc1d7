"""The assembler's core: a JSON parser's progress made into snapshots and field events.

Sans-I/O, like the parser it reads. What a snapshot shows, and why it costs what changed rather
than the document, is told in :mod:`streamstruct._model._partial`, which builds the partial classes; the
nodes this module walks (one per type in the model) are built in :mod:`streamstruct._model._nodes`.

This is the code that runs for every event of a stream, so it is kept to what mypyc compiles: a
wheel built with ``STREAMSTRUCT_COMPILE=1`` carries it compiled, like the parser (see
hatch_build.py); every other install runs this source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from pydantic import BaseModel, ValidationError

from .._core._json import JSONParser, Path
from .._errors import ResponseValidationError
from ._annotations import stream_annotations
from ._fields import FieldValidator, caused_by, summary
from ._level_builder import LevelBuilder, is_growing_string
from ._memo import (
    GrowingString,
    Level,
    Memo,
    OpenContainer,
    member_closed,
    remake_level,
)
from ._nodes import (
    _DictNode,
    _grows,
    _ModelNode,
    _Node,
    _root_node,
    _SequenceNode,
    _UnionNode,
)
from ._nulls import drop_injected_nulls as _drop_injected_nulls
from ._nulls import injects_nulls
from ._partial import (
    _HIDDEN,
    FieldCompleted,
    FieldStarted,
    PartialEvent,
    SnapshotEvent,
    TextAppended,
    _partial_class,
    _shows_same,
    _SnapshotInfo,
)
from ._shortcuts import ALL_SHORTCUTS, SnapshotShortcuts
from ._text_progress import TextProgress
from ._withheld import WithheldView
from ._withholding import SELF, SHOWN, remake_withheld, rules_of

__all__ = ["ALL_SHORTCUTS", "AssemblerCore", "SnapshotShortcuts"]


# -- the assembler ------------------------------------------------------------------------------


@final
class AssemblerCore:
    """What :class:`~streamstruct.PartialAssembler` does, per event: its state and its work.

    PartialAssembler's documentation says what it does. This class does it and is compiled; the
    public class wraps it to be generic (``PartialAssembler[User]``), and the reader calls it
    directly. Why two classes: mypyc gives a class with a Python base (``typing.Generic`` is
    one) a ``__dict__`` and a weak-reference slot that its deallocator never clears
    (mypyc/mypyc#1102, mypy 2.4.1): a weak reference to an instance then outlives it, and reading
    or dropping it crashes the interpreter (``tests/project/test_compiled_classes.py``). A native
    class with no Python base takes no weak references at all.
    """

    __slots__ = (
        "_closed",
        "_context",
        "_depth",
        "_drop",
        "_events",
        "_fields",
        "_growing",
        "_levels",
        "_model",
        "_root",
        "_root_done",
        "_rules",
        "_shortcuts",
        "_snapshot",
        "_still_open",
        "_text",
        "_text_progress",
        "_view",
    )

    def __init__(
        self,
        model: type[BaseModel],
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
        field_events: bool = True,
        event_path_offset: int = 0,
    ) -> None:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"PartialAssembler takes a pydantic model class, not {model!r}")
        self._model = model
        self._root, self._depth = _root_node(model)
        # Whether the final object may be made from the fields validated as they closed, rather
        # than from the JSON again (see _schema_facts.is_idempotent): no model validator wraps
        # the model, and no field validates anything twice.
        top: Any = model.__pydantic_core_schema__
        if top.get("type") == "definitions":
            top = top["schema"]
        from_members = top.get("type") == "model" and all(
            self._root.idempotent(spec) for spec in self._root.by_name.values()
        )
        self._text = text
        self._context = context
        # Nothing to drop when no model the answer can hold has such a field: the walk per
        # completed value was a tenth of a table's cost (benchmarks.e2e_alternatives).
        self._drop = drop_injected_nulls and injects_nulls(model)
        self._events = field_events
        self._fields = FieldValidator(
            self._root,
            text=text,
            context=context,
            drop=self._drop,
            events=field_events,
            from_members=from_members,
            offset=event_path_offset,
        )
        self._levels = LevelBuilder(self._fields, context=context, drop=self._drop)
        # The string being written, and what was sent of it.
        self._text_progress = TextProgress(event_path_offset)
        # Set when the last snapshot ended in a growing string: see _grow.
        self._growing: GrowingString | None = None
        # Set when it ended in an open container with nothing open in it: see _rebuild_from.
        self._still_open: OpenContainer | None = None
        # Open container → keys of its members reported complete: which member of an open
        # container is still being written (only its last one can be).
        self._closed: dict[Path, set[str | int]] = {}
        self._snapshot: Any = None
        self._root_done = False
        # Which snapshot shortcuts to take: all of them, but in the side-by-side tests.
        self._shortcuts = ALL_SHORTCUTS
        # Atomic / NotNull somewhere in the model: what they withhold is taken out of each
        # snapshot (see _withheld). Read once per response; None (nothing to pay) without them.
        marks = stream_annotations(model)
        self._view: WithheldView | None = WithheldView(marks, event_path_offset) if marks else None
        # What they withhold, on the nodes: left out as each level is built (_withholding).
        self._rules = rules_of(self._root) if marks else None
        self._levels.rules = self._rules  # (taken off by advance() for the plain view)

    @property
    def model(self) -> type[BaseModel]:
        return self._model

    @property
    def completion_depth(self) -> int | None:
        """The ``completion_depth`` the parser needs (``None``: every level, for recursive models)."""
        return self._depth

    @property
    def field_events(self) -> bool:
        """Whether :meth:`advance` returns field events, or only snapshots."""
        return self._events

    @field_events.setter
    def field_events(self, wanted: bool) -> None:
        self._events = wanted
        self._fields.events = wanted

    @property
    def snapshot(self) -> Any:
        """The last snapshot (a ``Partial[M]`` instance), or None before the object began."""
        view = self._view
        if view is None or view.in_build:
            return self._snapshot
        return view.shown

    def advance(
        self, parser: JSONParser
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]]:
        """Report what changed in ``parser`` since the last call (see the class docstring)."""
        # One method, the withheld view's filter (_seen) called only when there is a view: a call
        # less per event than a wrapper around the plain advance (with the reader's, _json's and
        # _memo's, 1.09x -> 1.07x 823c300's pure CPU per event, about the measure's noise: see
        # ResponseReader.feed).
        view = self._view
        if view is not None and not view.in_build:
            self._levels.rules = None  # ViewShortcuts.in_build off: the view takes them out after
        growing = self._growing
        completed = parser.pop_completed()
        shortcuts = self._shortcuts
        if not completed and growing is not None and shortcuts.grow:
            grown = self._grow(parser, growing)
            if grown is not None:
                return grown if view is None else self._seen(view, grown, growing)
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]] = []
        changed: set[Path] = set()  # the paths below which something completed
        finals: dict[Path, Any] = {}
        self._levels.finals = finals
        fields = self._fields
        fields.partial = self._snapshot if view is None or view.in_build else view.shown
        for done in completed:
            path = done.path
            finals[path] = done.value
            for k in range(len(path) + 1):  # a loop, not a generator: ~0.3 us less per value
                changed.add(path[:k])
            if path:
                self._closed.pop(path, None)  # its members are no longer asked about
                self._member_closed(path)
                sent = self._text_progress.completed(path)  # what TextAppended sent of it
                fields.complete(path, done.value, done.start, done.end, sent, events)
            else:
                self._root_done = True
                fields.close_root(events)
        # Not kept past the validations: it holds the last snapshot, and with it the lists that
        # _memo._snapshot_list would remake two snapshots on, which it then copies whole.
        fields.partial = None
        for path in fields.stale:  # their snapshots showed a value before it was validated
            self._levels.memo.pop(path, None)
        fields.stale.clear()
        snapshot: Any = None
        taken = False
        container = self._open_container() if shortcuts.open_container else None
        if container is not None:
            for done in completed:  # a loop, not all() over a generator (most complete none)
                if done.path[:-1] != container.path:
                    container = None  # something completed outside it
                    break
        if container is not None:
            # Something visible changed (a member completed, or a string began: any string
            # open now is a new one, _grow having declined): else the general path's quick check.
            current = parser.growing_string()
            if completed or current is not None:
                taken, snapshot = self._rebuild_from(parser, container, current, events)
        if not taken:
            snapshot = self._rebuild(parser, changed, events)
        if snapshot is not None and snapshot is not self._snapshot:
            self._snapshot = snapshot
            events.append(SnapshotEvent(snapshot))
        return events if view is None else self._seen(view, events, growing)

    def _member_closed(self, path: Path) -> None:
        """Note that the member at ``path`` completed (a call per completed value, not per
        event: ``advance`` is at the complexity limit)."""
        closed = self._closed.setdefault(path[:-1], set())
        if path[-1] in closed:  # a key given twice: the last wins, replaced in place, where
            self._forget_built()  # the memos' checks cannot see it
        closed.add(path[-1])

    def _forget_built(self) -> None:
        """Build the next snapshot from nothing: a member of an object was replaced, which the
        memos (checking sizes and the last member consumed) and the shortcuts taken from them
        would not notice. Rare (an answer that gives a key twice), so nothing finer is kept."""
        self._levels.forget()
        self._growing = None
        self._still_open = None

    def _seen(
        self,
        view: WithheldView,
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]],
        growing: GrowingString | None,
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]]:
        """``events`` as the annotations let them be seen; ``growing``: the string growing before
        this advance."""
        if view.in_build:  # ViewShortcuts.in_build: the levels built without what is withheld
            withheld = self._levels.withheld_path
            return events if withheld is None and not view.held else view.hold(events, withheld)
        # The same growing string after: only it grew (_grow), which changes nothing withheld.
        grew = growing is not None and self._growing is growing
        return view.filter(events, growing.names if grew and growing is not None else None)

    def finish(self, value: Any) -> Any:
        """Validate the complete value (``parser.close()``) as the model, model validators included."""
        if self._drop:
            value = _drop_injected_nulls(value, self._model)
        members = self._fields.validated_fields(value)
        try:
            return self._model.model_validate(
                value if members is None else members, context=self._context
            )
        except ValidationError as error:
            text = self._text() if self._text is not None else ""
            errors: list[Any] = list(error.errors(include_url=False))
            failure = ResponseValidationError(
                f"the response is not a valid {self._model.__name__}: {summary(errors)}",
                errors=errors,
                raw=text or None,
                partial=self.snapshot,
                text=text,
            )
            raise caused_by(failure, error) from error

    def final_snapshot(self, final: Any) -> SnapshotEvent[Any] | None:
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
        previous = self.snapshot
        if previous is not None and (
            _shows_same(previous, snapshot)
            if self._shortcuts.final_compare
            else previous.model_dump() == snapshot.model_dump()
        ):
            return None
        self._snapshot = snapshot
        if self._view is not None:
            self._view.final(snapshot)
        return SnapshotEvent(snapshot)

    # -- completions ----------------------------------------------------------------------------

    def _rebuild(self, parser: JSONParser, changed: set[Path], events: list[PartialEvent]) -> Any:
        raw = parser.snapshot()
        if not isinstance(raw, dict):
            return self._snapshot  # nothing yet (or not an object: finish will say so)
        root = self._levels.memo.get(())
        shortcuts = self._shortcuts
        if shortcuts.unchanged_parser and not changed and root is not None and root.raw is raw:
            # The parser shows nothing new (a key, a number cut by the end of the piece, a long
            # string not shown again yet): the walk below would reuse the root's memo whole (a
            # quarter of the events of a table).
            self._text_progress.unseen(parser, events, self._events)
            return None if root.value is _HIDDEN else root.value
        levels = self._walk_down(parser, raw, changed)
        deepest = levels[-1]
        typed_levels = [lv for lv in levels if lv.typed and lv.path]
        if typed_levels:
            self._fields.start(typed_levels[-1].path, typed_levels[-1].names, events)
        self._growing = None
        self._still_open = None
        growing = bool(
            deepest.reuse is None
            and deepest.typed
            and deepest.path
            and _grows(deepest.shown, deepest.raw)
        )
        if growing:
            self._text_progress.grew(
                parser, deepest.path, deepest.names, deepest.raw, events, self._events
            )
        value = self._levels.build_up(levels, self._shortcuts, self._root_done)
        if value is _HIDDEN:
            return None
        if growing:
            self._expect_growing(parser, levels)
        else:
            self._expect_still_open(levels)
        return value

    def _walk_down(self, parser: JSONParser, raw: Any, changed: set[Path]) -> list[Level]:
        """The levels of the spine, from the root to the value being written (or to the first
        level whose memo still holds: ``reuse``)."""
        members_closed = self._closed
        shortcuts = self._shortcuts

        def closed(path: Path) -> bool:
            return member_closed(members_closed, parser, path)

        levels: list[Level] = []
        node: _Node = self._root
        path: Path = ()
        names: Path = ()
        typed = True
        while True:
            memo = self._levels.memo.get(path)
            if (
                shortcuts.unchanged_levels
                and memo is not None
                and memo.raw is raw
                and memo.node is node
                and path not in changed
            ):
                levels.append(Level(raw, node, path, names, typed, memo))
                break  # the same object, nothing completed in it: nothing below changed either
            level = Level(raw, node, path, names, typed, None)
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
        return levels

    def _expect_growing(self, parser: JSONParser, levels: list[Level]) -> None:
        """The snapshot just built ends in a string being written: the next event may take the
        _grow shortcut, if every level above it has a memo."""
        deepest = levels[-1]
        spine = tuple(level.path for level in reversed(levels[:-1]))
        current = parser.growing_string()
        if (
            current is not None
            and current[1] == deepest.raw
            and all(path in self._levels.memo for path in spine)
        ):
            shown = self._levels.withheld_path is None  # else it grows inside what is withheld
            self._growing = GrowingString(current[0], spine, deepest.names, shown)

    def _expect_still_open(self, levels: list[Level]) -> None:
        """The snapshot just built ends in an open container with nothing open in it, typed: the
        next event may take the _rebuild_from shortcut."""
        deepest = levels[-1]
        memos = self._levels.memo
        if (
            deepest.open_key is None
            and deepest.reuse is None
            and deepest.typed
            and deepest.children_typed
            and isinstance(deepest.shown, _ModelNode | _DictNode | _SequenceNode)
            and all(level.path in memos for level in levels)
        ):
            spine = tuple(level.path for level in reversed(levels[:-1]))
            self._still_open = OpenContainer(deepest.path, deepest.names, spine)

    def _open_container(self) -> OpenContainer | None:
        """The open container the last snapshot ended in, and the levels above it, when known:
        the one it ended in with nothing open inside, or the one of the string it ended in."""
        if self._still_open is not None:
            return self._still_open
        growing = self._growing
        if growing is None or not growing.spine:
            return None
        return OpenContainer(growing.spine[0], growing.names[:-1], growing.spine[1:])

    def _rebuild_from(
        self,
        parser: JSONParser,
        container: OpenContainer,
        current: tuple[int, str] | None,
        events: list[PartialEvent],
    ) -> tuple[bool, Any]:
        """The general path's snapshot (see _rebuild) when all that changed since the last one is
        in ``container``, the open container it ended in: members of it completed, and a string
        may have begun in it. The container is built again and each level above it made again
        from its memo with the new member below it, as _grow does, with no walk down the spine
        and no build of the levels above. (False, None) when it does not apply.

        A third of the events of a streamed table are such (a value of the row being written
        completes, or a string begins in it): this costs them two thirds of the general path
        (benchmarks.e2e_alternatives, 100 KB, one event per read).
        """
        if parser.open_container_path() != container.path or self._root_done:
            return False, None
        memos = self._levels.memo
        memo = memos.get(container.path)
        if memo is None:
            return False, None
        aboves: list[Memo] = []
        for path in container.spine:  # a loop, not a comprehension and any(): no calls
            above = memos.get(path)
            if above is None or above.open_name is None:
                return False, None
            aboves.append(above)
        raw: Any = parser.snapshot()
        raws = [raw]
        for key in container.path:
            raw = raw[key]
            raws.append(raw)
        level = Level(raw, memo.node, container.path, container.names, True, None)
        members_closed = self._closed
        level.open_key = level.shown.open_key(
            raw, container.path, lambda path: member_closed(members_closed, parser, path)
        )
        below: Any = _HIDDEN
        at: Path = container.path
        names = container.names
        if level.open_key is None:
            current = None  # a string in a member not shown (a key the model does not know)
        else:
            # Only a string that began in it may be open (the parser is in no deeper container).
            if current is None or not is_growing_string(level, current[1]):
                return False, None
            at = (*container.path, level.open_key)
            names = (*container.names, level.shown.name_of(level.open_key))
            below = raw[level.open_key]
        # The container built first, aside: nothing is changed yet if it is not shown (not
        # expected: it was shown before, or waited for a NotNull field, as it may still), and
        # the general path takes over.
        built: dict[Path, Memo] = {}
        quiet: dict[Path, tuple[Any, Any]] = {}
        value, chain = self._levels.build(
            level, below, (), built, quiet, self._shortcuts, self._root_done
        )
        if value is _HIDDEN and self._levels.withheld != SELF:
            return False, None
        # From here on, what the general path does for this spine.
        self._levels.keep_build(container.path, built, quiet)
        if at:
            self._fields.start(at, names, events)
        self._growing = None
        self._still_open = None
        if current is not None:
            self._text_progress.grew(parser, at, names, current[1], events, self._events)
        # e.g. a null that stands for "absent" completed (with markers, what is withheld may
        # have moved all the same: remake_withheld keeps each level that shows what it showed)
        unchanged = value is memo.value and self._levels.rules is None
        value = self._remake_above(container, aboves, raws, value, chain, unchanged)
        if current is not None:
            spine = (container.path, *container.spine)
            shown = self._levels.withheld_path is None
            self._growing = GrowingString(current[0], spine, names, shown)
        else:
            self._still_open = container
        return True, self._snapshot if unchanged else value

    def _remake_above(
        self,
        container: OpenContainer,
        aboves: list[Memo],
        raws: list[Any],
        value: Any,
        chain: Path,
        unchanged: bool,
    ) -> Any:
        """The levels above ``container`` made again from their memos with ``value`` (its new
        snapshot value) below them, unless it is ``unchanged``: the root's value."""
        reuse = self._shortcuts.reused_lists
        rules = self._levels.rules
        withheld = self._levels.withheld  # the container's build's
        for path, above in zip(container.spine, aboves, strict=True):
            above.raw = raws[len(path)]  # the parser's new copy, as a general build keeps
            if unchanged:  # each level above shows what it showed
                continue
            rule = None if rules is None else rules.get(above.shown)
            if rule is None and withheld == SHOWN:  # nothing withheld here nor below
                open_name = above.open_name
                assert open_name is not None  # (checked by _rebuild_from; no cast: no call)
                chain = (open_name, *chain)
                value = remake_level(above, value, chain, reuse)
                above.withheld = SHOWN  # a level reused later says what it shows now
            else:
                value, chain, withheld = remake_withheld(
                    above, rule, value, chain, withheld, not path, reuse
                )
        if rules is not None and not unchanged:
            self._levels.withheld_path = None if withheld == SHOWN else chain
        return value

    def _grow(
        self, parser: JSONParser, growing: GrowingString
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]] | None:
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
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[Any]] = []
        self._text_progress.append(parser, growing.names, events, self._events)
        if not growing.shown:
            return events  # it grows inside a value withheld (Atomic / NotNull): nothing to show
        shown = self._levels.memo[growing.spine[0]].open_member
        if type(shown) is str and len(text) == len(shown):
            # The snapshot shows no more of it yet (a long string is shown again only once it has
            # grown by a fraction of its length: see _json.LONG_STRING_CHARS).
            return events
        below: Any = text
        reuse = self._shortcuts.reused_lists
        for path in growing.spine:
            memo = self._levels.memo[path]
            below = remake_level(memo, below, memo.chain, reuse)
            memo.withheld = SHOWN  # the string is shown: nothing withheld on its way up
        self._levels.finals = {}
        self._snapshot = below
        events.append(SnapshotEvent(below))
        return events
