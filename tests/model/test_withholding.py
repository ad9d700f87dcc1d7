"""Atomic and NotNull left out as the assembler builds each level (``_withholding``), against the
view that takes them out of the finished snapshot (``ViewShortcuts.in_build`` off, the plain
path): the same snapshots, field events and progress on every split (but for the view's
repeats of an unchanged snapshot, which the assembler does not send), and what the rules say.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from shared_support import chunks, split_at
from withheld_support import view_trace

from streamstruct import Atomic, JSONParser, NotNull, PartialAssembler, SnapshotEvent
from streamstruct._model._shortcuts import (
    ALL_SHORTCUTS,
    ALL_VIEW_SHORTCUTS,
    SnapshotShortcuts,
    ViewShortcuts,
)
from streamstruct._model._withholding import SELF, SHOWN, Rule, withhold

SPLITS: list[int | str] = [1, 2, 3, 5, 8, 13, "random-1", "random-2", "random-3", 10_000]

#: The view's own way (its class table on): what the assembler's way must give.
AFTER_THE_FACT = ALL_VIEW_SHORTCUTS._replace(in_build=False)


class Row(BaseModel):
    id: int
    name: Annotated[str, NotNull]
    email: Annotated[str, Atomic]
    score: float
    tags: list[Annotated[str, Atomic]]


class Report(BaseModel):
    rows: list[Row]


REPORT = {
    "rows": [
        {"id": i, "name": f"n{i}", "email": f"u{i}@x.example", "score": i / 3, "tags": ["a", "bc"]}
        for i in range(4)
    ]
}


class Inner(BaseModel):
    value: int
    kind: Annotated[str, NotNull]


class Outer(BaseModel):
    label: str
    inner: Annotated[Inner, NotNull]  # waits for an object that waits in turn


class Cat(BaseModel):
    name: str
    kind: Annotated[Literal["cat"], NotNull]


class Dog(BaseModel):
    name: str
    kind: Annotated[Literal["dog"], NotNull]


class Mixed(BaseModel):
    head: Annotated[str, Atomic]
    outers: list[Outer]
    lookup: dict[str, Annotated[str, Atomic]]
    pair: tuple[Annotated[str, Atomic], str]
    maybe: Annotated[str, Atomic] | None
    grid: list[dict[str, Annotated[Inner, Atomic]]]
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]]
    tail: str


MIXED = {
    "head": "h-42",
    "outers": [
        {"label": "one", "inner": {"value": 1, "kind": "k1"}},
        {"inner": {"kind": "k2", "value": 2}, "label": "two"},
    ],
    "lookup": {"a": "alpha", "b": "beta"},
    "pair": ["left", "right"],
    "maybe": "perhaps",
    "grid": [{"x": {"value": 3, "kind": "k3"}}, {}],
    "pets": [{"name": "Rex", "kind": "dog"}, {"kind": "cat", "name": "Tom"}],
    "tail": "the end",
}

DOCUMENTS: dict[str, tuple[type[BaseModel], Any]] = {
    "report": (Report, REPORT),
    "mixed": (Mixed, MIXED),
}


def trace(
    model: type[BaseModel],
    pieces: list[str],
    shortcuts: ViewShortcuts,
    snapshot_shortcuts: SnapshotShortcuts = ALL_SHORTCUTS,
) -> list[Any]:
    """Per piece: the events, then the assembler's snapshot; then the final snapshot."""
    return view_trace(model, pieces, shortcuts, snapshot_shortcuts, each_snapshot=True)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("split", SPLITS)
def test_built_without_gives_what_the_view_gives(name: str, split: int | str) -> None:
    model, document = DOCUMENTS[name]
    pieces = chunks(json.dumps(document), split)
    expected = trace(model, pieces, AFTER_THE_FACT)
    assert trace(model, pieces, ALL_VIEW_SHORTCUTS) == expected
    assert any(isinstance(event, tuple) for events in expected[:-1:2] for event in events)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(DOCUMENTS)),
    points=st.lists(st.integers(min_value=0, max_value=600), max_size=40),
)
def test_built_without_on_any_split(name: str, points: list[int]) -> None:
    model, document = DOCUMENTS[name]
    text = json.dumps(document)
    pieces = split_at(text, [point % (len(text) + 1) for point in points])
    assert trace(model, pieces, ALL_VIEW_SHORTCUTS) == trace(model, pieces, AFTER_THE_FACT)


#: The assembler's snapshot shortcuts off one at a time, and all at once.
SNAPSHOT_SHORTCUTS_OFF = {
    **{name: SnapshotShortcuts(**{name: False}) for name in SnapshotShortcuts._fields},
    "all": SnapshotShortcuts(**dict.fromkeys(SnapshotShortcuts._fields, False)),
}


#: Off, these make each snapshot of a level a new object, so a piece that changes nothing visible
#: may still send a snapshot equal to the last one (as tests/model/test_partial.py says).
NEW_OBJECTS_WHEN_OFF = {"continued_levels", "all"}


def without_repeats(traced: list[Any]) -> list[Any]:
    """A ``trace`` without the snapshot events equal to the snapshot before them."""
    last: Any = None
    out: list[Any] = []
    for index, entry in enumerate(traced):
        if index % 2 or index == len(traced) - 1:
            out.append(entry)  # the snapshot after a piece's events, or the final one
            continue
        kept = []
        for event in entry:
            if isinstance(event, tuple):
                if event == last:
                    continue
                last = event
            kept.append(event)
        out.append(kept)
    return out


@pytest.mark.parametrize("off", sorted(SNAPSHOT_SHORTCUTS_OFF))
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("split", [1, 3, 8, "random-1"])
def test_the_snapshot_shortcuts_withhold_what_the_general_path_withholds(
    off: str, name: str, split: int | str
) -> None:
    # Each shortcut of the assembler (a string grown, an open container rebuilt, memos reused)
    # leaves out what the general path leaves out.
    model, document = DOCUMENTS[name]
    pieces = chunks(json.dumps(document), split)
    expected = trace(model, pieces, ALL_VIEW_SHORTCUTS, SNAPSHOT_SHORTCUTS_OFF[off])
    got = trace(model, pieces, ALL_VIEW_SHORTCUTS)
    if off in NEW_OBJECTS_WHEN_OFF:
        expected, got = without_repeats(expected), without_repeats(got)
    assert got == expected


def test_the_rules_sit_on_the_nodes_the_markers_concern() -> None:
    assembler = PartialAssembler(Mixed)
    rules = assembler._core._rules
    assert rules is not None
    found = sorted(
        (getattr(getattr(node, "cls", None), "__name__", type(node).__name__),
         sorted(rule.atomic), rule.every, rule.not_null)
        for node, rule in rules.items()
    )  # fmt: skip
    assert found == [
        ("Cat", [], False, ("kind",)),
        ("Dog", [], False, ("kind",)),
        ("Inner", [], False, ("kind",)),  # inside an Outer
        ("Inner", [], False, ("kind",)),  # a grid's value: a node of its own
        ("Mixed", ["head", "maybe"], False, ()),
        ("Outer", [], False, ("inner",)),
        ("_DictNode", [], True, ()),  # lookup's values
        ("_DictNode", [], True, ()),  # each grid row's values
        ("_SequenceNode", [], True, ()),  # pair's members
    ]

    class Plain(BaseModel):
        rows: list[dict[str, int]]

    class Holder(BaseModel):
        rows: list[Outer]

    assert PartialAssembler(Plain)._core._rules is None  # nothing to ask: nothing to pay
    again = PartialAssembler(Mixed)._core._rules  # made again for each response, on the same nodes
    assert again is not None
    assert again is not rules
    assert again.keys() == rules.keys()
    assert PartialAssembler(Holder)._core._rules is not None  # Outer has markers


def test_a_withheld_open_member_and_an_object_that_waits() -> None:
    rule = Rule(frozenset({"email"}), False, ("name",))
    # The root never waits; a member object waits while its NotNull field has no value.
    assert withhold(rule, {}, None, None, SHOWN, True) == SHOWN
    assert withhold(rule, {}, None, None, SHOWN, False) == SELF
    assert withhold(rule, {"name": "n"}, None, None, SHOWN, False) == SHOWN
    # The NotNull field being written: a string begun is a value; an object that waits is one too
    # (it is there, only withheld below).
    assert withhold(rule, {}, "name", "", SHOWN, False) == SHOWN
    assert withhold(rule, {}, "name", object(), SELF, False) != SELF


@pytest.mark.parametrize("split", [1, 3, 8])
def test_a_growing_withheld_string_builds_nothing(split: int | str) -> None:
    # While an atomic email grows, the assembler neither walks nor builds: the snapshot stays
    # the same object, as for a plain model whose string did not show more yet.
    assembler = PartialAssembler(Report)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    text = json.dumps(REPORT)
    start = text.index("u0@")
    parser.feed(text[:start])
    assembler.advance(parser)
    before = assembler.snapshot
    built = assembler._core._levels.memo.copy()
    for piece in chunks(text[start : text.index('"', start)], split):
        parser.feed(piece)
        events = assembler.advance(parser)
        assert not any(isinstance(event, SnapshotEvent) for event in events)
        assert assembler.snapshot is before
        assert assembler._core._levels.memo == built
    assert assembler._core._levels.withheld_path == ("rows", 0, "email")


class Noted(BaseModel):
    note: str
    kind: Annotated[str, NotNull]


class Notes(BaseModel):
    plain: list[Noted]


@pytest.mark.parametrize("split", [1, 2, 3])
def test_the_memos_say_nothing_is_withheld_once_nothing_is(split: int) -> None:
    # A level remade the plain way (nothing withheld at or below it) said what an earlier build
    # withheld until it was built again; a later change reusing it would have read a stale path.
    assembler = PartialAssembler(Notes)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    text = '{"plain": [{"note": "ab", "kind": "x", "note": "cdefgh", "kind": "y"}, {"note": "i"'
    for piece in chunks(text, split):
        parser.feed(piece)
        assembler.advance(parser)
        if assembler._core._levels.withheld_path is None:
            stale = {p: m.withheld for p, m in assembler._core._levels.memo.items() if m.withheld}
            assert stale == {}, piece


class Barker(BaseModel):
    name: str
    kind: Annotated[Literal["dog"], NotNull]
    bark: str = ""


class Pet(BaseModel):
    pets: list[Cat | Barker]  # untagged: a member is told apart by its keys


def test_an_untagged_union_member_before_its_not_null_field() -> None:
    # Left out as the levels are built, a member that waits makes no snapshot at all where the
    # view, taking it out afterwards, sent one equal to the last: the same snapshots but repeats.
    text = '{"pets": [{"bark": "woof", "kind": "dog", "name": "R"}, {"name": "T", "kind": "cat"}]}'
    pieces = chunks(text, 1)
    expected, got = trace(Pet, pieces, AFTER_THE_FACT), trace(Pet, pieces, ALL_VIEW_SHORTCUTS)
    assert got != expected  # the view's repeats
    assert without_repeats(got) == without_repeats(expected)
    for split in (2, 3, 5):
        pieces = chunks(text, split)
        expected = without_repeats(trace(Pet, pieces, AFTER_THE_FACT))
        assert without_repeats(trace(Pet, pieces, ALL_VIEW_SHORTCUTS)) == expected
