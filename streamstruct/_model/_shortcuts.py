"""The assembler's snapshot shortcuts, and the flags that switch each of them off.

Model layer. Every shortcut gives the events and snapshots the general path gives, for less; the
side-by-side tests (tests/model/test_partial.py) compare the two with each flag off in turn, so a
new shortcut gets its flag here. Not to be confused with the JSON parser's public ``Shortcuts``
(``streamstruct._core._json_options``): these are the assembler's private flags.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["ALL_SHORTCUTS", "ALL_VIEW_SHORTCUTS", "SnapshotShortcuts", "ViewShortcuts"]


class SnapshotShortcuts(NamedTuple):
    """The assembler's snapshot shortcuts, each of which may be switched off.

    Each one gives the events and snapshots the general path gives (walk down the spine from the
    root, build every changed level back up), for less: the side-by-side tests in
    tests/model/test_partial.py switch them off here, one at a time and all at once, and compare.
    A new shortcut gets a flag here, so that it cannot go untested.
    """

    #: A string that only grew: the snapshot remade from the memos, no walk (AssemblerCore._grow).
    grow: bool = True
    #: Only the open container changed: built from it up (AssemblerCore._rebuild_from).
    open_container: bool = True
    #: The parser shows nothing new: the last snapshot again, no walk (AssemblerCore._rebuild).
    unchanged_parser: bool = True
    #: The walk down stops at a level whose object and completions did not change (its memo).
    unchanged_levels: bool = True
    #: A level continues from the complete members its last build consumed (Memo.stable),
    #: instead of looking at every member again (tests/model/test_partial_cost.py counts them).
    continued_levels: bool = True
    #: A snapshot's list remade from the one shown two snapshots ago (_snapshot_list).
    reused_lists: bool = True
    #: The final snapshot compared with the last one member by member, the same object standing
    #: for itself (_partial._shows_same), not by dumping both (two copies of a table at its peak).
    final_compare: bool = True


#: Every shortcut on: what every assembler uses outside the side-by-side tests.
ALL_SHORTCUTS: Final = SnapshotShortcuts()


class ViewShortcuts(NamedTuple):
    """The shortcuts of the view that withholds what ``Atomic`` and ``NotNull`` hold back
    (``_withheld.WithheldView``), each of which may be switched off.

    Each one gives the snapshots and field events the plain view gives, for less: the side-by-side
    tests in tests/model/test_streaming_annotations.py switch them off and compare, on every split.
    """

    #: The walk down the chain reads each class's markers from a table the view fills once per
    #: class, instead of asking the class of every object on the way for the model it stands for
    #: (``getattr`` with a default, which for a list, a str or None raises and catches an
    #: AttributeError: most of the walk's cost in the compiled build).
    class_table: bool = True
    #: What is withheld is left out as the assembler builds each level (``_withholding``), not
    #: taken out of the finished snapshot by the view, which then only holds back field events.
    in_build: bool = True


#: Every view shortcut on: what every assembler uses outside the side-by-side tests.
ALL_VIEW_SHORTCUTS: Final = ViewShortcuts()
