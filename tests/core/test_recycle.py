"""The reference-count list reuse shared by the parser and the assembler (streamstruct._core._recycle)."""

from __future__ import annotations

import platform
from typing import Any

import pytest

from streamstruct._core import _recycle
from streamstruct._core._recycle import calibrate, references, refreshed, unchanged

only_trusted = pytest.mark.skipif(
    not _recycle.RECYCLE, reason="reference counts are not trusted here: nothing is reused"
)


class _Holder:
    def __init__(self) -> None:
        self.spare: list[Any] | None = None


def _detach(holder: _Holder) -> tuple[list[Any] | None, int]:
    """A user's _detach_spare, as the parser and the assembler write it (with references()
    written out inline there)."""
    spare = holder.spare
    holder.spare = None
    return spare, references(spare)


def _alone() -> int:
    holder = _Holder()
    holder.spare = []
    return _detach(holder)[1]


ALONE = calibrate(_alone)


def test_recycling_is_trusted_only_where_counts_were_checked() -> None:
    assert _recycle.recycling_trusted() == _recycle.RECYCLE
    if platform.python_implementation() != "CPython":
        assert not _recycle.RECYCLE
    assert references(None) == 0


def test_unchanged_accepts_the_list_as_made_and_catches_the_usual_changes() -> None:
    members = ["a", "b", "c", "d"]
    assert unchanged(members[:2], 2, members)
    assert unchanged([*members[:2], "open"], 2, members)  # and the member then in progress
    assert unchanged([], 0, members)
    assert not unchanged(members[:1], 2, members)  # popped
    assert not unchanged(["b", "a"], 2, members)  # sorted or reversed
    assert not unchanged([*members[:2], "x", "y"], 2, members)  # appended
    assert not unchanged(members[:2], 2, ["a"])  # members fewer than it held


@only_trusted
def test_a_list_nothing_else_holds_is_refreshed_in_place() -> None:
    members = [1, 2, 3]
    holder = _Holder()
    holder.spare = [1, 2, "open"]
    spare, count = _detach(holder)
    assert count == ALONE
    out = refreshed(spare, count, ALONE, 2, members)
    assert out is spare
    assert out == [1, 2, 3]


@pytest.mark.parametrize("held", ["kept", "in a container"])
def test_a_list_held_elsewhere_is_copied(held: str) -> None:
    members = [1, 2, 3]
    holder = _Holder()
    shown = [1, 2, "open"]
    keeper: Any = shown if held == "kept" else [shown]
    holder.spare = shown
    del shown
    spare, count = _detach(holder)
    assert count != ALONE
    out = refreshed(spare, count, ALONE, 2, members)
    assert out is not spare
    assert out == members
    assert (keeper if held == "kept" else keeper[0]) == [1, 2, "open"]  # never touched


def test_a_changed_list_is_copied_even_when_alone() -> None:
    holder = _Holder()
    holder.spare = [2, 1, "open"]  # the caller sorted it before letting it go
    spare, count = _detach(holder)
    out = refreshed(spare, count, ALONE, 2, [1, 2, 3])
    assert out is not spare
    assert out == [1, 2, 3]
