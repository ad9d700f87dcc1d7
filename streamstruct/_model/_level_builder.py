"""LevelBuilder: one level of a ``Partial[M]`` snapshot built from its complete members.

Model layer, per event (compiled with the assembler: hatch_build.py). The assembler decides which
levels of the spine to build (the general path walks down from the root; its shortcuts start
lower); this module builds each of them: the members shown for its complete entries (validated as
they closed, or quietly here for display only), the snapshot object made from them, and the memo
(:class:`~streamstruct._model._memo.Memo`) the next build of the level starts from. It owns the
memos of the last snapshot and its quiet validations; the assembler reads the memos.
"""

from __future__ import annotations

import collections.abc
import itertools
from typing import Any, final

from .._core._json import Path
from ._fields import FieldValidator
from ._memo import Level, Memo, final_of_last, make_level, resume, same_shown
from ._nodes import _AnyNode, _DictNode, _grows, _Leaf, _ModelNode, _UnionNode
from ._nulls import drop_injected_nulls as _drop_injected_nulls
from ._partial import _HIDDEN, _MISSING, _SnapshotInfo
from ._shortcuts import SnapshotShortcuts
from ._withholding import BELOW, OPEN, SELF, SHOWN, Rule, withhold

__all__ = ["LevelBuilder", "is_growing_string"]


@final
class LevelBuilder:
    """Build the levels of a snapshot from their complete members, keeping a memo of each.

    ``memo`` holds, by path, what the last snapshot built at each level of its spine (the
    assembler's shortcuts remake levels from them); ``finals`` the values the parser reported
    complete in the current ``advance()`` call, by path (the assembler sets it); ``looked_at``
    counts the complete members a build was asked about (what the memo saves, for the tests).
    ``fields`` gives the values validated as they closed; ``context`` and ``drop`` are the
    assembler's validation context and its ``drop_injected_nulls``.
    """

    __slots__ = (
        "_context",
        "_drop",
        "_fields",
        "_quiet",
        "finals",
        "looked_at",
        "memo",
        "rules",
        "withheld",
        "withheld_path",
    )

    def __init__(self, fields: FieldValidator, *, context: Any, drop: bool) -> None:
        self._fields = fields
        self._context = context
        self._drop = drop
        self.memo: dict[Path, Memo] = {}
        self.finals: dict[Path, Any] = {}
        # A complete member validated for display only (not on its own), by path: the parser's
        # object and the value shown, so that the next build does not validate it again.
        self._quiet: dict[Path, tuple[Any, Any]] = {}
        self.looked_at = 0
        # What Atomic / NotNull withhold, by node (_withholding.withholding_rules); None for a
        # model without markers (or the plain view, ViewShortcuts.in_build off): nothing asked.
        self.rules: dict[Any, Rule] | None = None
        self.withheld = SHOWN  # what the last build() withheld at its level
        # The path (field names) of the value the last snapshot withholds, None: nothing.
        self.withheld_path: Path | None = None

    def forget(self) -> None:
        """Drop what the last builds kept: the next one builds every level again."""
        self.memo = {}
        self._quiet = {}

    def build_up(self, levels: list[Level], shortcuts: SnapshotShortcuts, root_done: bool) -> Any:
        """Build back up, each level from its complete members and the level below; the memos
        of this build replace the last one's. The root's value (_HIDDEN: nothing shown)."""
        memos: dict[Path, Memo] = {}
        quiet: dict[Path, tuple[Any, Any]] = {}
        value: Any = _HIDDEN
        chain: Path = ()
        withheld = SHOWN
        for level in reversed(levels):
            if level.reuse is not None:
                value, chain = level.reuse.value, level.reuse.chain
                withheld = level.reuse.withheld
                if withheld == SELF:
                    value, chain = _HIDDEN, ()
                # Keep what was built below it, for when it changes again.
                size = len(level.path)
                memos.update((p, m) for p, m in self.memo.items() if p[:size] == level.path)
                quiet.update((p, q) for p, q in self._quiet.items() if p[:size] == level.path)
                continue
            value, chain = self.build(
                level, value, chain, memos, quiet, shortcuts, root_done, withheld
            )
            withheld = self.withheld
        self.memo = memos
        self._quiet = quiet
        self.withheld_path = None if withheld == SHOWN else chain
        return value

    def keep_build(
        self, path: Path, built: dict[Path, Memo], quiet: dict[Path, tuple[Any, Any]]
    ) -> None:
        """The build of the container at ``path`` (its memo, its quietly validated entries) in
        place of the last one's."""
        self.memo[path] = built[path]
        size = len(path)
        for entry in [p for p in self._quiet if p[:size] == path]:
            del self._quiet[entry]  # the container's entries are those of this build
        self._quiet.update(quiet)

    def build(
        self,
        level: Level,
        below: Any,
        below_chain: Path,
        memos: dict[Path, Memo],
        quiet: dict[Path, tuple[Any, Any]],
        shortcuts: SnapshotShortcuts,
        root_done: bool,
        below_withheld: int = SHOWN,
    ) -> tuple[Any, Path]:
        """The snapshot value of one level, from its complete members and ``below`` (the value of
        its open member, ``below_chain`` the chain below it, ``below_withheld`` what was withheld
        there), and the chain to the value being written; the level's memo goes into ``memos``,
        what it withholds into ``withheld``. ``root_done``: the whole value is complete."""
        self.withheld = SHOWN
        shown = level.shown
        raw = level.raw
        if isinstance(shown, _AnyNode):
            return raw, ()
        if isinstance(shown, _Leaf):
            return (raw if shown.grows and isinstance(raw, str) else _HIDDEN), ()
        is_mapping = isinstance(shown, _ModelNode | _DictNode)
        if not isinstance(raw, dict if is_mapping else list):
            return _HIDDEN, ()
        previous = self.memo.get(level.path)
        continued = shortcuts.continued_levels
        stable, consumed, last = resume(previous, shown, raw, is_mapping, continued)
        added, now_consumed, last = self._consume(level, consumed, last, quiet)
        # (the parser's own object for the last member, when the snapshot holds its copy of it)
        last_final = final_of_last(previous, last, now_consumed > consumed, self.finals, level.path)
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
        complete = not level.path and root_done
        withheld = SHOWN
        rules = self.rules
        if rules is not None:  # (a model without markers: nothing more to do, nor to pay)
            rule = rules.get(shown)
            if rule is not None:
                withheld = withhold(rule, stable, open_name, below, below_withheld, not level.path)
                if withheld == OPEN:
                    assert open_name is not None
                    below, chain = _HIDDEN, (open_name,)
            elif below_withheld != SHOWN:
                withheld = BELOW  # a value withheld below: the chain ends there
        memo = Memo(
            raw, level.node, shown, _HIDDEN, chain, complete, stable, now_consumed, last,
            open_name, below, last_final,
        )  # fmt: skip
        if withheld != SHOWN:
            memo.withheld = withheld
        value = self._show(memo, previous, bool(added), shortcuts.reused_lists)
        memos[level.path] = memo
        if withheld == SHOWN:
            return value, chain
        self.withheld = withheld
        if withheld == SELF:  # NotNull: the object waits, hidden from the level above
            return _HIDDEN, ()
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

    def _show(self, memo: Memo, previous: Memo | None, added: bool, reuse_lists: bool) -> Any:
        """The snapshot object of ``memo``'s level (set as its value): the previous build's when
        nothing visible changed, else a new one (``reuse_lists``:
        SnapshotShortcuts.reused_lists)."""
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
        reuse = previous if continued and reuse_lists else None
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
        self.looked_at += 1
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


def is_growing_string(level: Level, text: str) -> bool:
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
