"""Reuse of a snapshot's list once nothing but its maker holds it, decided by reference counts.

Core layer: the standard library only. The parser (``_json``) and the assembler each show every
snapshot a list of its own (a snapshot kept by the caller never changes), and a copy of a long
list costs every one of its members: for a table being written, one copy per snapshot made the
stream quadratic. The list shown two snapshots ago is usually garbage by now (the consumer moved
on); when its reference count says nobody but its maker holds it (CPython's count is exact, and
every other holder - a snapshot kept, the list itself kept, an iterator over it - adds to it) and
it looks as it was made (:func:`unchanged`), it is brought up to date in place: a snapshot's list
costs what was added, not its length.

Each user keeps the list it may reuse in a ``spare`` slot of its own and counts it in a small
``_detach_spare`` of its own, :func:`references` written out there (the parser and the
assembler's memo both do: a call less per list snapshot); it calibrates what "nobody else" counts
with :func:`calibrate`, by that very function, since interpreted and compiled code hold their
locals and arguments differently.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Callable
from typing import Any, Final

__all__ = ["RECYCLE", "calibrate", "recycling_trusted", "references", "refreshed", "unchanged"]


def recycling_trusted() -> bool:
    """Whether a reference count may decide that a snapshot's list can be reused.

    Only on CPython, where counts are exact, with the GIL (a free-threaded build's counts are not
    checked here), on versions where how a frame holds its locals was checked (3.11-3.14; a JIT
    that kept fewer references than the interpreted calibration would make a held list look
    free), and not under a tracer at import: on 3.11 and 3.12 a debugger that reads ``f_locals``
    adds a reference to the calibration (it would then be one too high, and a list held once
    more would pass). Where this says no, every snapshot copies its lists, as a plain copy would.
    """
    jit = getattr(sys, "_jit", None)
    return (
        sys.implementation.name == "cpython"
        and (3, 11) <= sys.version_info[:2] <= (3, 14)
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and not (jit is not None and jit.is_enabled())
        and sys.gettrace() is None
        and sys.getprofile() is None
    )


#: Whether a list may be reused at all (see recycling_trusted); decided once, at import.
RECYCLE: Final = recycling_trusted()


def references(spare: list[Any] | None) -> int:
    """The reference count of ``spare`` (0 for None, or where counts are not trusted): what each
    user's ``_detach_spare`` writes out inline."""
    return sys.getrefcount(spare) if RECYCLE and spare is not None else 0


def calibrate(count_alone: Callable[[], int]) -> int:
    """What a user's ``_detach_spare`` counts for a list nothing else holds: ``count_alone()``
    detaches such a list with it and returns the count. -1 (never matched) where counts are not
    trusted."""
    return count_alone() if RECYCLE else -1


def unchanged(spare: list[Any], size: int, members: list[Any]) -> bool:
    """Whether ``spare`` still looks as it was made: ``members[:size]`` and at most the member
    then in progress.

    Snapshots are read-only, but a caller may have changed one in place (sorted or emptied a
    list) before letting it go; its first and last members and its length catch the usual ways
    (``sort`` moving the first or last, ``clear``, ``pop``, ``append``, ``insert``,
    ``reverse``), and then it is not reused. Checking every member would cost what a copy does.
    """
    length = len(spare)
    if not (size <= length <= size + 1) or len(members) < size:
        return False
    return size == 0 or (spare[0] is members[0] and spare[size - 1] is members[size - 1])


def refreshed(
    spare: list[Any] | None, count: int, alone: int, spare_size: int, members: list[Any]
) -> list[Any]:
    """A list holding ``members``, for a new snapshot: ``spare`` (made from ``members[:spare_size]``,
    counted ``count`` references when detached) brought up to date when nothing else holds it
    (``count == alone``) and it is :func:`unchanged`; else a copy of ``members``."""
    if spare is not None and count == alone and unchanged(spare, spare_size, members):
        del spare[spare_size:]
        spare += members[spare_size:]  # (islice would step through the first ones)
        return spare
    return members.copy()
