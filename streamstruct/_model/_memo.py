"""The memo cache of the assembler's snapshots: what the last snapshot built at each level of the
spine, and the snapshot objects made from it.

Model layer. Complete members never change, so a level's next build starts from what its memo
kept (``Memo.stable``) and looks only at the entries after them; the levels above a value that
only grew are made again from their memos (:func:`remake_level`). The strategies that decide
which levels to build are in :mod:`streamstruct._model._assembler`; compiled with it (hatch_build.py).
"""

from __future__ import annotations

from sys import getrefcount
from typing import Any, Final, NamedTuple, cast, final

from .._core._json import JSONParser, Path
from .._core._recycle import RECYCLE, calibrate, refreshed
from ._nodes import _ANY, _DictNode, _ModelNode, _Node, _SequenceNode
from ._partial import _HIDDEN, _MISSING, _PartialModel, _SnapshotInfo

__all__ = [
    "GrowingString",
    "Level",
    "Memo",
    "OpenContainer",
    "continues",
    "final_of_last",
    "make_level",
    "member_closed",
    "remake_level",
    "resume",
    "same_shown",
    "snapshot_object",
]


@final
class Level:
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
        self, raw: Any, node: _Node, path: Path, names: Path, typed: bool, reuse: Memo | None
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


class OpenContainer(NamedTuple):
    """The open container the last snapshot ended in, with nothing open in it (see
    AssemblerCore._rebuild_from)."""

    path: Path  # its JSON path
    names: Path  # its user path
    spine: tuple[Path, ...]  # the levels above it, from its parent up to the root


class GrowingString(NamedTuple):
    """The last snapshot ended in a string being written (see AssemblerCore._grow)."""

    start: int  # the parser's offset of the string's opening quote: which string it is
    spine: tuple[Path, ...]  # the levels above the string, from its container up to the root
    names: Path  # the string's user path, for TextAppended
    shown: bool = True  # False: it grows inside a value Atomic / NotNull withhold


@final
class Memo:
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
        "info",
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
        "withheld",
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
        # A list's ``stable`` grows in place (see LevelBuilder.build): this memo's share of it.
        self.stable_size = 0 if stable is None else len(stable)
        self.consumed = consumed
        self.last = last  # (key, raw entry) of the last consumed entry, to check it is still there
        # The parser's own object for that entry when ``last`` holds a snapshot's copy of it (see
        # continues), else _MISSING.
        self.last_final = last_final
        self.open_name = open_name
        self.open_member = open_member
        # A list level: the list shown by the snapshot before ``value``'s, made of the first
        # ``spare_size`` members of ``stable`` (and then the open member): see _snapshot_list.
        self.spare: list[Any] | None = None
        self.spare_size = 0
        # An object level: the info its snapshot objects carry, the same while chain and complete
        # are (immutable, so shared: one object less to make per snapshot and level).
        self.info: _SnapshotInfo | None = None
        # What Atomic / NotNull withheld at this level (_withholding's SHOWN, BELOW, OPEN, SELF).
        self.withheld = 0

    def pass_spare(self, previous: Memo) -> None:
        """Take over the lists ``previous`` (the last build of this level) showed: its value
        becomes the spare, to be made again into a later snapshot's list if nobody kept it."""
        if type(previous.value) is list:
            self.spare = previous.value
            self.spare_size = previous.stable_size


def make_level(
    shown: _Node,
    stable: Any,
    open_name: str | int | None,
    below: Any,
    info: _SnapshotInfo | None,
    memo: Memo | None,
) -> Any:
    """A new snapshot object for one level: its complete members, then the open one. ``info``:
    an object level's snapshot info. ``memo``: the last build of this level when this one
    continues it (its spare list may be remade)."""
    has_open = open_name is not None and below is not _HIDDEN
    if isinstance(shown, _ModelNode):
        assert info is not None
        if has_open:
            return snapshot_object(shown.partial_class, stable, info, cast(str, open_name), below)
        return snapshot_object(shown.partial_class, stable, info)
    if isinstance(shown, _DictNode):
        return {**stable, open_name: below} if has_open else dict(stable)
    if isinstance(shown, _SequenceNode) and shown.as_tuple:
        return (*stable, below) if has_open else tuple(stable)
    items = _snapshot_list(stable, memo)
    if has_open:
        items.append(below)
    return items


def remake_level(memo: Memo, below: Any, chain: Path, reuse: bool) -> Any:
    """The level of ``memo`` made again with ``below`` as its open member (and ``chain`` as the
    path of the value being written): what its last build showed, but the member below changed.
    The memo then stands for the new snapshot. ``reuse``: whether its spare list may be remade
    (SnapshotShortcuts.reused_lists)."""
    if isinstance(memo.shown, _ModelNode) and (memo.info is None or memo.info.chain != chain):
        memo.info = _SnapshotInfo(chain, memo.complete)
    value = make_level(
        memo.shown, memo.stable, memo.open_name, below, memo.info, memo if reuse else None
    )
    if type(value) is list:
        memo.spare, memo.spare_size = memo.value, memo.stable_size  # the list it showed: spare
    memo.value = value
    memo.open_member = below
    memo.chain = chain
    return value


def _snapshot_list(stable: list[Any], memo: Memo | None) -> list[Any]:
    """A list holding the members of ``stable``, for a new snapshot: a copy, or the spare list of
    ``memo`` made again when nothing but this assembler holds it.

    Every snapshot shows a list of its own (a snapshot kept by the caller never changes), and a
    copy of a long list costs every one of its members: for a table being written, one copy per
    snapshot made the stream quadratic (benchmarks.e2e_alternatives, one event per read: 49 us
    per event at 1 MB against 29 at 100 KB; 27 and 27 with this and the parser's own reuse). The
    list shown two snapshots ago is usually garbage by now: the consumer moved on from that
    snapshot. When its reference count says nobody but this function holds it (CPython's count is
    exact, and every other holder - a snapshot kept, the list itself kept, an iterator over it -
    adds to it) and it looks as it was made (see ``_json._unchanged``), it is brought up to date
    in place: its open member dropped, the members completed since appended, so a snapshot's list
    costs what was added, not its length.
    """
    if memo is None:
        return stable.copy()
    spare_size = memo.spare_size
    spare, count = _detach_spare(memo)
    return refreshed(spare, count, _ALONE, spare_size, stable)


def _detach_spare(memo: Memo) -> tuple[list[Any] | None, int]:
    """``memo.spare``, taken off the memo, and its reference count then (0 where counts are not
    trusted): equal to ``_ALONE`` when nothing else holds it."""
    spare = memo.spare
    memo.spare = None
    # _recycle.references written out, as the parser's _detach_spare does: a call less per list
    # snapshot (issue 13's last rows: one of five folds that took the pure pipeline from 1.09x
    # to 1.07x 823c300's CPU per event, tools 10 KB: about the measure's noise).
    return spare, (getrefcount(spare) if RECYCLE and spare is not None else 0)


def _alone() -> int:
    """What _detach_spare counts for a list nothing else holds, measured by the same code."""
    memo = Memo(None, _ANY, _ANY, None, (), False)
    memo.spare = []
    return _detach_spare(memo)[1]


#: What _detach_spare counts for a list nothing else holds (see _recycle.calibrate).
_ALONE: Final = calibrate(_alone)


def snapshot_object(
    cls: type[_PartialModel],
    members: dict[str, Any],
    info: _SnapshotInfo,
    open_name: str | None = None,
    open_value: Any = None,
) -> _PartialModel:
    """``cls.model_construct(**members)`` with its snapshot info, made directly; with the field
    ``open_name`` set to ``open_value`` too when given (the member being written).

    A partial class is simpler than the models ``model_construct`` serves: every field defaults to
    None, there is no post-init and one private attribute, and ``members`` is keyed by field name.
    Setting the four attributes pydantic keeps on an instance takes a fifth of the time; one or
    two such objects are made for almost every event of a stream (benchmarks.e2e_alternatives).
    tests/model/test_partial.py checks the result against ``model_construct``'s.
    """
    instance = cls.__new__(cls)
    values = {**cls.__streamstruct_empty__, **members}
    fields = set(members)
    if open_name is not None:
        values[open_name] = open_value
        fields.add(open_name)
    set_attribute = object.__setattr__  # the class is frozen
    set_attribute(instance, "__dict__", values)
    set_attribute(instance, "__pydantic_fields_set__", fields)
    set_attribute(instance, "__pydantic_extra__", {} if cls.__streamstruct_extra__ else None)
    set_attribute(instance, "__pydantic_private__", {"_streamstruct_snapshot": info})
    return instance


def continues(previous: Memo, raw: Any) -> bool:
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


def same_shown(a: Any, b: Any) -> bool:
    """The same value for display: the same object, or equal strings (a string is rebuilt)."""
    return a is b or (type(a) is str and type(b) is str and a == b)


def member_closed(
    members_closed: dict[Path, set[str | int]], parser: JSONParser, path: Path
) -> bool:
    """Whether the member at ``path`` is complete. The completions reported so far answer; the
    parser is asked only about what it was not told to report (a parser made with a smaller
    completion_depth)."""
    keys = members_closed.get(path[:-1])
    return (keys is not None and path[-1] in keys) or parser.is_complete(path)


def resume(
    previous: Memo | None, shown: _Node, raw: Any, is_mapping: bool, allowed: bool
) -> tuple[Any, int, tuple[Any, Any] | None]:
    """Where a build of a level starts: the members its last build showed for the entries it
    consumed (``stable``), their count and the last of them, when ``raw`` continues them and the
    shortcut is ``allowed`` (SnapshotShortcuts.continued_levels); else from nothing."""
    if previous is not None and previous.shown is shown and allowed and continues(previous, raw):
        stable = previous.stable
        if not is_mapping and len(stable) != previous.stable_size:
            stable = stable[: previous.stable_size]  # grown by a build that did not finish
        return stable, previous.consumed, previous.last
    return ({} if is_mapping else []), 0, None


def final_of_last(
    previous: Memo | None,
    last: tuple[Any, Any] | None,
    consumed_more: bool,
    finals: dict[Path, Any],
    path: Path,
) -> Any:
    """The parser's own object for the last entry a build consumed, when it differs from the one
    the build saw (else _MISSING): see :func:`continues`.

    A member that closed in a piece that showed nothing new is, in this snapshot, the parser's copy
    of it from when it was open; the next snapshot holds the parser's own object. Remembering that
    one too lets the next build still continue from here.
    """
    if last is not None and consumed_more:
        final = finals.get((*path, last[0]), _MISSING)
        return final if final is not last[1] else _MISSING
    if previous is not None and last is previous.last:
        return previous.last_final
    return _MISSING
