"""Snapshots of a long list are made again from the list shown two snapshots ago, when nobody holds it.

``JSONParser.snapshot()`` (its copy of an open array) and ``PartialAssembler`` (the list a ``Partial``
shows) bring an old list up to date in place instead of copying the whole list, but only when the
reference count says nothing else holds it. These tests hold snapshots, lists and members in every
pattern a caller might, and check that nothing a caller holds ever changes; and that a caller that
keeps only the latest snapshot does get the cheap path (on CPython, the only place it is taken).
"""

from __future__ import annotations

import copy
import itertools
import json
import statistics
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from streamstruct._assembler import PartialAssembler
from streamstruct._json import JSONParser
from streamstruct._partial import Partial, SnapshotEvent

CPYTHON = sys.implementation.name == "cpython"
only_cpython = pytest.mark.skipif(
    not CPYTHON, reason="a list is made again only where reference counts are exact"
)


class Row(BaseModel):
    id: int
    name: str
    tags: list[str]


class Table(BaseModel):
    title: str
    rows: list[Row]


def table_text(rows: int) -> str:
    """A ``Table`` of ``rows`` rows as JSON, written with spaces as a model would."""
    table = {
        "title": "t",
        "rows": [
            {"id": i, "name": f"row {i}", "tags": [chr(97 + k) for k in range(i % 3)]}
            for i in range(rows)
        ],
    }
    return json.dumps(table)


def pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


# -- the parser ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 25),
    cuts=st.lists(st.integers(0, 10_000), max_size=60),
    keep=st.lists(st.sampled_from(["nothing", "snapshot", "rows", "member"]), min_size=1),
)
def test_parser_snapshots_held_in_any_way_never_change(
    rows: int, cuts: list[int], keep: list[str]
) -> None:
    text = table_text(rows)
    parser = JSONParser()
    held: list[tuple[Any, Any]] = []  # (what is held, a deep copy taken when it was received)
    for k, piece in enumerate(pieces(text, cuts)):
        parser.feed(piece)
        snapshot = parser.snapshot()
        how = keep[k % len(keep)]
        if not isinstance(snapshot, dict) or "rows" not in snapshot:
            continue
        if how == "snapshot":
            held.append((snapshot, copy.deepcopy(snapshot)))
        elif how == "rows":
            held.append((snapshot["rows"], copy.deepcopy(snapshot["rows"])))
        elif how == "member" and snapshot["rows"]:
            held.append((snapshot["rows"][-1], copy.deepcopy(snapshot["rows"][-1])))
        del snapshot
    assert parser.close() == json.loads(text)
    for value, at_the_time in held:
        assert value == at_the_time


def test_parser_snapshots_of_a_nested_open_array_never_change() -> None:
    # Arrays open at two levels: each level has its own copies.
    text = "[" + ", ".join("[" + ", ".join(str(j) for j in range(i)) + "]" for i in range(12)) + "]"
    parser = JSONParser()
    held: list[tuple[Any, Any]] = []
    for k in range(len(text)):
        parser.feed(text[k])
        snapshot = parser.snapshot()
        if k % 5 == 0 and isinstance(snapshot, list):
            held.append((snapshot, copy.deepcopy(snapshot)))
        if (
            k % 7 == 0
            and isinstance(snapshot, list)
            and snapshot
            and isinstance(snapshot[-1], list)
        ):
            held.append((snapshot[-1], list(snapshot[-1])))
    for value, at_the_time in held:
        assert value == at_the_time


def allocated_during(call: Callable[[], Any]) -> tuple[Any, int]:
    """What ``call`` returns, and the most memory it had allocated at one time (tracemalloc)."""
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = call()
    _, peak = tracemalloc.get_traced_memory()
    return result, peak - before


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


@only_cpython
def test_parser_remakes_the_copy_nobody_holds(traced: None) -> None:
    # A caller that keeps only its latest snapshot of a 5,000-member array: a copy would allocate
    # 40 KB per snapshot; the copy made again allocates for the members added, now and then a
    # list's growth.
    parser = JSONParser()
    parser.feed("[" + "".join(f"{k}, " for k in range(5_000)))
    snapshot = parser.snapshot()
    costs = []
    for k in range(5_000, 5_060):
        parser.feed(f"{k}, ")
        snapshot, cost = allocated_during(parser.snapshot)
        assert len(snapshot) == k + 1
        assert snapshot[-1] == k
        costs.append(cost)
    assert statistics.median(costs) < 5_000, costs


@only_cpython
def test_parser_copies_when_the_old_snapshot_is_held() -> None:
    parser = JSONParser()
    parser.feed("[0, ")
    kept = [parser.snapshot()]
    for k in range(1, 30):
        parser.feed(f"{k}, ")
        kept.append(parser.snapshot())
    assert len({id(s) for s in kept}) == len(kept)
    assert kept == [list(range(k + 1)) for k in range(30)]


# -- the assembler ------------------------------------------------------------------------------


def dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


@settings(max_examples=120, deadline=None)
@given(
    rows=st.integers(1, 20),
    cuts=st.lists(st.integers(0, 10_000), max_size=80),
    keep=st.lists(
        st.sampled_from(["nothing", "snapshot", "rows", "member", "iterator"]), min_size=1
    ),
)
def test_partial_snapshots_held_in_any_way_never_change(
    rows: int, cuts: list[int], keep: list[str]
) -> None:
    text = table_text(rows)
    assembler = PartialAssembler(Table)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    held: list[tuple[Any, Any]] = []
    iterators: list[tuple[Any, Any]] = []
    for k, piece in enumerate(pieces(text, cuts)):
        parser.feed(piece)
        assembler.advance(parser)
        snapshot = assembler.snapshot
        how = keep[k % len(keep)]
        if snapshot is None or snapshot.rows is None:
            continue
        if how == "snapshot":
            held.append((snapshot, snapshot.model_dump()))
        elif how == "rows":
            held.append((snapshot.rows, dump(snapshot.rows)))
        elif how == "member" and snapshot.rows:
            held.append((snapshot.rows[-1], dump(snapshot.rows[-1])))
        elif how == "iterator":
            iterators.append((iter(snapshot.rows), dump(snapshot.rows)))
        del snapshot
    final = assembler.finish(parser.close())
    assert final == Table.model_validate_json(text)
    for value, at_the_time in held:
        assert dump(value) == at_the_time
    for iterator, at_the_time in iterators:
        assert [dump(v) for v in iterator] == at_the_time


def test_a_consumer_that_keeps_every_snapshot_sees_each_as_it_was() -> None:
    text = table_text(30)
    assembler = PartialAssembler(Table)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    kept: list[tuple[Partial[Table], Any]] = []
    for k in range(0, len(text), 2):
        parser.feed(text[k : k + 2])
        for event in assembler.advance(parser):
            snapshot = getattr(event, "partial", None) if isinstance(event, SnapshotEvent) else None
            if snapshot is not None:
                kept.append((snapshot, snapshot.model_dump()))
    assert len(kept) > 100
    assert len({id(s.rows) for s, _ in kept if s.rows is not None}) == sum(
        1 for s, _ in kept if s.rows is not None
    )
    for snapshot, at_the_time in kept:
        assert snapshot.model_dump() == at_the_time


@only_cpython
def test_partial_remakes_the_list_nobody_holds(traced: None) -> None:
    # A consumer that keeps only the latest snapshot of a 3,000-row table: neither the parser's
    # copy nor the list the snapshot shows is a copy of the 3,000 rows (24 KB each).
    text = table_text(3_100)
    cut = text.index('{"id": 3000,')
    assembler = PartialAssembler(Table)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    parser.feed(text[:cut])
    assembler.advance(parser)
    costs = []
    for k in range(cut, cut + 400, 4):
        parser.feed(text[k : k + 4])
        _, cost = allocated_during(lambda: assembler.advance(parser))
        snapshot = assembler.snapshot
        assert snapshot is not None
        assert snapshot.rows is not None
        assert len(snapshot.rows) >= 3_000
        costs.append(cost)
        del snapshot
    assert statistics.median(costs) < 8_000, costs
