"""PartialAssembler: a JSON parser's progress turned into ``Partial[M]`` snapshots and field events.

Sans-I/O, like the parser it reads. What a snapshot shows, and why it costs what changed rather
than the document, is told in :mod:`streamstruct._model._partial`, which builds the partial classes; the
nodes this module walks (one per type in the model) are built in :mod:`streamstruct._model._nodes`.

This is the code that runs for every event of a stream, so it is kept to what mypyc compiles: a
wheel built with ``STREAMSTRUCT_COMPILE=1`` carries it compiled, like the parser (see
hatch_build.py); every other install runs this source.
"""

from __future__ import annotations

import collections.abc
import itertools
from collections.abc import Callable
from typing import Any, Generic, cast, final

from pydantic import BaseModel, ValidationError

from .._core._json import JSONParser, Path
from .._errors import ResponseValidationError
from ._annotations import stream_annotations
from ._fields import FieldValidator, caused_by, summary
from ._memo import (
    GrowingString,
    Level,
    Memo,
    OpenContainer,
    final_of_last,
    make_level,
    member_closed,
    remake_level,
    resume,
    same_shown,
)
from ._nodes import (
    _AnyNode,
    _DictNode,
    _grows,
    _Leaf,
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
    _M,
    _MISSING,
    FieldCompleted,
    FieldStarted,
    PartialEvent,
    SnapshotEvent,
    TextAppended,
    _partial_class,
    _SnapshotInfo,
)
from ._shortcuts import ALL_SHORTCUTS, Shortcuts
from ._withheld import WithheldView

__all__ = ["ALL_SHORTCUTS", "PartialAssembler", "Shortcuts"]


# -- the assembler ------------------------------------------------------------------------------


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
    injected for an optional field as absent, as :func:`~streamstruct._request._modes.drop_injected_nulls`.

    ``field_events=False`` leaves out the field events (:attr:`field_events` may change it
    between calls): only snapshots are returned, for a consumer that reads nothing else, which
    then pays nothing for them. What was started and sent is still tracked, so events turned on
    later continue where the stream is (a text delta is the text since the last one sent or not).
    """

    __slots__ = (
        "_closed",
        "_context",
        "_depth",
        "_drop",
        "_events",
        "_fields",
        "_finals",
        "_growing",
        "_looked_at",
        "_memo",
        "_model",
        "_quiet",
        "_root",
        "_root_done",
        "_shortcuts",
        "_snapshot",
        "_still_open",
        "_text",
        "_text_at",
        "_text_len",
        "_text_names",
        "_text_start",
        "_view",
    )

    def __init__(
        self,
        model: type[_M],
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
        field_events: bool = True,
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
        )
        self._text_at: Path | None = None  # the string being written, and how much of it was sent
        self._text_len = 0
        # Its user path, and the parser's offset of its opening quote (-1: not the parser's open
        # string), to send what came of it while no snapshot showed more (see _unseen_text).
        self._text_names: Path = ()
        self._text_start = -1
        self._memo: dict[Path, Memo] = {}
        # Set when the last snapshot ended in a growing string: see _grow.
        self._growing: GrowingString | None = None
        # Set when it ended in an open container with nothing open in it: see _rebuild_from.
        self._still_open: OpenContainer | None = None
        # The values the parser reported complete in this advance() call, by path (see continues).
        self._finals: dict[Path, Any] = {}
        self._quiet: dict[Path, tuple[Any, Any]] = {}
        # Open container → keys of its members reported complete: which member of an open
        # container is still being written (only its last one can be).
        self._closed: dict[Path, set[str | int]] = {}
        self._snapshot: _M | None = None
        self._root_done = False
        # Which snapshot shortcuts to take: all of them, but in the side-by-side tests.
        self._shortcuts = ALL_SHORTCUTS
        # How many complete members _member was asked about: what the memo saves, for the tests.
        self._looked_at = 0
        # Atomic / NotNull somewhere in the model: what they withhold is taken out of each
        # snapshot (see _withheld). Read once per response; None (nothing to pay) without them.
        marks = stream_annotations(model)
        self._view: WithheldView | None = WithheldView(marks) if marks else None

    @property
    def model(self) -> type[_M]:
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
    def snapshot(self) -> _M | None:
        """The last snapshot (a ``Partial[M]`` instance), or None before the object began."""
        view = self._view
        return self._snapshot if view is None else cast("_M | None", view.shown)

    def advance(
        self, parser: JSONParser
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]]:
        """Report what changed in ``parser`` since the last call (see the class docstring)."""
        view = self._view
        if view is None:
            return self._advance(parser)
        growing = self._growing
        events = self._advance(parser)
        # The same growing string after: only it grew (_grow), which changes nothing withheld.
        grew = growing is not None and self._growing is growing
        return view.filter(events, growing.names if grew and growing is not None else None)

    def _advance(
        self, parser: JSONParser
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]]:
        completed = parser.pop_completed()
        shortcuts = self._shortcuts
        if not completed and self._growing is not None and shortcuts.grow:
            grown = self._grow(parser, self._growing)
            if grown is not None:
                return grown
        events: list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]] = []
        changed: set[Path] = set()  # the paths below which something completed
        finals: dict[Path, Any] = {}
        self._finals = finals
        fields = self._fields
        fields.partial = self.snapshot
        for done in completed:
            path = done.path
            finals[path] = done.value
            changed.update(path[:k] for k in range(len(path) + 1))
            if path:
                self._closed.pop(path, None)  # its members are no longer asked about
                self._closed.setdefault(path[:-1], set()).add(path[-1])
                sent = 0
                if self._text_at == path:  # the string being written: TextAppended sent
                    sent, self._text_at = self._text_len, None
                fields.complete(path, done.value, done.start, done.end, sent, events)
            else:
                self._root_done = True
                fields.close_root(events)
        for path in fields.stale:  # their snapshots showed a value before it was validated
            self._memo.pop(path, None)
        fields.stale.clear()
        snapshot: _M | None = None
        taken = False
        container = self._open_container() if shortcuts.open_container else None
        if container is not None and all(done.path[:-1] == container.path for done in completed):
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
        return events

    def finish(self, value: Any) -> _M:
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
        previous = self.snapshot
        if previous is not None and previous.model_dump() == snapshot.model_dump():
            return None
        self._snapshot = cast(_M, snapshot)
        if self._view is not None:
            self._view.final(snapshot)
        return SnapshotEvent(cast(_M, snapshot))

    # -- completions ----------------------------------------------------------------------------

    def _rebuild(
        self, parser: JSONParser, changed: set[Path], events: list[PartialEvent]
    ) -> _M | None:
        raw = parser.snapshot()
        if not isinstance(raw, dict):
            return self._snapshot  # nothing yet (or not an object: finish will say so)
        root = self._memo.get(())
        shortcuts = self._shortcuts
        if shortcuts.unchanged_parser and not changed and root is not None and root.raw is raw:
            # The parser shows nothing new (a key, a number cut by the end of the piece, a long
            # string not shown again yet): the walk below would reuse the root's memo whole (a
            # quarter of the events of a table).
            self._unseen_text(parser, events)
            return None if root.value is _HIDDEN else cast(_M, root.value)
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
            self._text_grew(parser, deepest.path, deepest.names, deepest.raw, events)
        value = self._build_up(levels)
        if value is _HIDDEN:
            return None
        if growing:
            self._expect_growing(parser, levels)
        else:
            self._expect_still_open(levels)
        return cast(_M, value)

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
            memo = self._memo.get(path)
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

    def _build_up(self, levels: list[Level]) -> Any:
        """Build back up, each level from its complete members and the level below; the memos
        of this build replace the last one's. The root's value (_HIDDEN: nothing shown)."""
        memos: dict[Path, Memo] = {}
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
        return value

    def _expect_growing(self, parser: JSONParser, levels: list[Level]) -> None:
        """The snapshot just built ends in a string being written: the next event may take the
        _grow shortcut, if every level above it has a memo."""
        deepest = levels[-1]
        spine = tuple(level.path for level in reversed(levels[:-1]))
        current = parser.growing_string()
        if (
            current is not None
            and current[1] == deepest.raw
            and all(path in self._memo for path in spine)
        ):
            self._growing = GrowingString(current[0], spine, deepest.names)

    def _expect_still_open(self, levels: list[Level]) -> None:
        """The snapshot just built ends in an open container with nothing open in it, typed: the
        next event may take the _rebuild_from shortcut."""
        deepest = levels[-1]
        memos = self._memo
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
    ) -> tuple[bool, _M | None]:
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
        memo = self._memo.get(container.path)
        aboves = [self._memo.get(path) for path in container.spine]
        if memo is None or any(above is None or above.open_name is None for above in aboves):
            return False, None
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
            if current is None or not _is_growing_string(level, current[1]):
                return False, None
            at = (*container.path, level.open_key)
            names = (*container.names, level.shown.name_of(level.open_key))
            below = raw[level.open_key]
        # The container built first, aside: nothing is changed yet if it is not shown (not
        # expected: it was shown before), and the general path takes over.
        built: dict[Path, Memo] = {}
        quiet: dict[Path, tuple[Any, Any]] = {}
        value, chain = self._build(level, below, (), built, quiet)
        if value is _HIDDEN:
            return False, None
        # From here on, what the general path does for this spine.
        self._keep_build(container.path, built, quiet)
        if at:
            self._fields.start(at, names, events)
        self._growing = None
        self._still_open = None
        if current is not None:
            self._text_grew(parser, at, names, current[1], events)
        unchanged = value is memo.value  # e.g. a null that stands for "absent" completed
        value = self._remake_above(container, aboves, raws, value, chain, unchanged)
        if current is not None:
            self._growing = GrowingString(current[0], (container.path, *container.spine), names)
        else:
            self._still_open = container
        return True, self._snapshot if unchanged else cast(_M, value)

    def _keep_build(
        self, path: Path, built: dict[Path, Memo], quiet: dict[Path, tuple[Any, Any]]
    ) -> None:
        """The build of the container at ``path`` (its memo, its quietly validated entries) in
        place of the last one's."""
        self._memo[path] = built[path]
        size = len(path)
        for entry in [p for p in self._quiet if p[:size] == path]:
            del self._quiet[entry]  # the container's entries are those of this build
        self._quiet.update(quiet)

    def _remake_above(
        self,
        container: OpenContainer,
        aboves: list[Memo | None],
        raws: list[Any],
        value: Any,
        chain: Path,
        unchanged: bool,
    ) -> Any:
        """The levels above ``container`` made again from their memos with ``value`` (its new
        snapshot value) below them, unless it is ``unchanged``: the root's value."""
        reuse = self._shortcuts.reused_lists
        for path, above in zip(container.spine, aboves, strict=True):
            assert above is not None
            above.raw = raws[len(path)]  # the parser's new copy, as a general build keeps
            if not unchanged:  # else each level above shows what it showed
                chain = (cast("str | int", above.open_name), *chain)
                value = remake_level(above, value, chain, reuse)
        return value

    def _grow(
        self, parser: JSONParser, growing: GrowingString
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
        tail = parser.growing_tail(self._text_len)
        if tail:  # else nothing came: half an escape, held back
            if self._events:
                events.append(TextAppended(growing.names, tail))
            self._text_len += len(tail)
        shown = self._memo[growing.spine[0]].open_member
        if type(shown) is str and len(text) == len(shown):
            # The snapshot shows no more of it yet (a long string is shown again only once it has
            # grown by a fraction of its length: see _json.LONG_STRING_CHARS).
            return events
        below: Any = text
        reuse = self._shortcuts.reused_lists
        for path in growing.spine:
            memo = self._memo[path]
            below = remake_level(memo, below, memo.chain, reuse)
        self._finals = {}
        self._snapshot = cast(_M, below)
        events.append(SnapshotEvent(cast(_M, below)))
        return events

    def _text_grew(
        self,
        parser: JSONParser,
        path: Path,
        names: Path,
        shown: str,
        events: list[PartialEvent],
    ) -> None:
        """A TextAppended for the string at ``path`` with what came since the last one: all the
        parser received (``shown``, what the snapshot shows of it, may lag behind a long one)."""
        sent = self._text_len if self._text_at == path else 0
        current = parser.growing_string()
        tail = parser.growing_tail(sent) if current is not None and current[1] is shown else None
        self._text_start = -1 if current is None or tail is None else current[0]
        if tail is None:
            tail = shown[sent:]  # (not the parser's open string: what is shown is all there is)
        if tail and self._events:
            events.append(TextAppended(names, tail))
        self._text_at = path
        self._text_names = names
        self._text_len = sent + len(tail)

    def _unseen_text(self, parser: JSONParser, events: list[PartialEvent]) -> None:
        """A TextAppended for what came of the string being written while the snapshot shows no
        more of it (a long string between two showings), when no snapshot is made."""
        if self._text_at is None:
            return
        current = parser.growing_string()
        if current is None or current[0] != self._text_start:
            return
        tail = parser.growing_tail(self._text_len)
        if tail:
            if self._events:
                events.append(TextAppended(self._text_names, tail))
            self._text_len += len(tail)

    def _build(
        self,
        level: Level,
        below: Any,
        below_chain: Path,
        memos: dict[Path, Memo],
        quiet: dict[Path, tuple[Any, Any]],
    ) -> tuple[Any, Path]:
        """The snapshot value of one level, from its complete members and ``below`` (the value of
        its open member, ``below_chain`` the chain below it), and the chain to the value being
        written; the level's memo goes into ``memos``."""
        shown = level.shown
        raw = level.raw
        if isinstance(shown, _AnyNode):
            return raw, ()
        if isinstance(shown, _Leaf):
            return (raw if shown.grows and isinstance(raw, str) else _HIDDEN), ()
        is_mapping = isinstance(shown, _ModelNode | _DictNode)
        if not isinstance(raw, dict if is_mapping else list):
            return _HIDDEN, ()
        previous = self._memo.get(level.path)
        continued = self._shortcuts.continued_levels
        stable, consumed, last = resume(previous, shown, raw, is_mapping, continued)
        added, now_consumed, last = self._consume(level, consumed, last, quiet)
        # (the parser's own object for the last member, when the snapshot holds its copy of it)
        last_final = final_of_last(
            previous, last, now_consumed > consumed, self._finals, level.path
        )
        if added:
            if is_mapping:
                stable = {**stable, **dict(added)}
            else:
                # Grown in place: a list's ``stable`` is this assembler's own (a snapshot gets a
                # copy, in make_level), and copying it here too cost a third of a long table's
                # snapshots (benchmarks.e2e, 20,000 rows read 16 KiB at a time).
                stable.extend(member for _, member in added)
        open_name: str | int | None = None
        chain: Path = ()
        if level.open_key is not None:
            open_name = shown.name_of(level.open_key)
            chain = (open_name, *below_chain)
        complete = not level.path and self._root_done
        memo = Memo(
            raw, level.node, shown, _HIDDEN, chain, complete, stable, now_consumed, last,
            open_name, below, last_final,
        )  # fmt: skip
        value = self._show(memo, previous, bool(added))
        memos[level.path] = memo
        return value, chain

    def _consume(
        self,
        level: Level,
        consumed: int,
        last: tuple[Any, Any] | None,
        quiet: dict[Path, tuple[Any, Any]],
    ) -> tuple[list[tuple[str | int, Any]], int, tuple[Any, Any] | None]:
        """The members shown for the complete entries of ``level`` after the first ``consumed``
        (every entry but the open one), and the count and last of the entries consumed then."""
        shown = level.shown
        raw = level.raw
        entries: collections.abc.Iterable[tuple[str | int, Any]]
        if isinstance(raw, dict):
            entries = itertools.islice(raw.items(), consumed, None)
        else:
            entries = zip(range(consumed, len(raw)), raw[consumed:], strict=True)
        added: list[tuple[str | int, Any]] = []
        for key, item in entries:
            if key == level.open_key:
                break
            consumed += 1
            last = (key, item)
            if isinstance(shown, _ModelNode) and key not in shown.fields:
                continue  # a key the model does not know: not shown
            member = self._member(level, key, item, quiet)
            if member is not _HIDDEN:
                added.append((shown.name_of(key), member))
        return added, consumed, last

    def _show(self, memo: Memo, previous: Memo | None, added: bool) -> Any:
        """The snapshot object of ``memo``'s level (set as its value): the previous build's when
        nothing visible changed, else a new one."""
        stable = memo.stable
        complete = memo.complete
        if (
            previous is not None
            and not added
            and stable is previous.stable
            and memo.open_name == previous.open_name
            and same_shown(memo.open_member, previous.open_member)
            and previous.chain == memo.chain
            and previous.complete == complete  # (closing makes progress() reach 1.0)
        ):
            # Nothing visible changed: the same object as before, and its spare list.
            memo.value = previous.value
            memo.info = previous.info
            memo.spare, memo.spare_size = previous.spare, previous.spare_size
            return memo.value
        if isinstance(memo.shown, _ModelNode):
            memo.info = (
                previous.info
                if previous is not None
                and previous.info is not None
                and previous.chain == memo.chain
                and previous.complete == complete
                else _SnapshotInfo(memo.chain, complete)
            )
        # Only a build that continues the previous one may remake its lists (see _snapshot_list).
        continued = previous is not None and stable is previous.stable
        reuse = previous if continued and self._shortcuts.reused_lists else None
        memo.value = make_level(
            memo.shown, stable, memo.open_name, memo.open_member, memo.info, reuse
        )
        if continued:
            assert previous is not None
            memo.pass_spare(previous)
        return memo.value

    def _member(
        self, level: Level, key: str | int, item: Any, quiet: dict[Path, tuple[Any, Any]]
    ) -> Any:
        """The value shown for a complete member of an open level."""
        self._looked_at += 1
        if level.children_typed:
            frame = self._fields.frames.get(level.path)
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


def _is_growing_string(level: Level, text: str) -> bool:
    """Whether the open member of ``level`` is the string ``text`` the parser is writing, typed and
    shown as it grows (not inside a union, whose option is a guess until it closes)."""
    assert level.open_key is not None
    child = level.shown.child(level.open_key)
    return (
        child is not None
        and not isinstance(child, _UnionNode)
        and level.raw[level.open_key] == text
        and _grows(child, text)
    )
