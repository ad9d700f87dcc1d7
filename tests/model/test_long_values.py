"""Long values and deep ones: one long string costs linear time, a string past
``max_string_chars`` stops, and deep nesting costs memory and time linear in its depth.

A snapshot of an open string is a ``str`` of its whole length, so a long string is shown after
every piece only while it is short (``LONG_STRING_CHARS``); past that, again once it has grown by
1/``LONG_STRING_GROWTH`` of its length. These tests check that cadence (which snapshots are made),
that the complete string and the final object always hold all the text, and that the text events
still hand over every piece. No timing: benchmarks/ measures the cost.
"""

from __future__ import annotations

import copy
import itertools
import json
import statistics
import sys
import tracemalloc
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from shared_support import pieces

# The lockstep helpers of the snapshot shortcuts' own property test.
from test_partial import EACH_SHORTCUT_OFF, _side_by_side, _trace

import streamstruct
from streamstruct import (
    JSONParser,
    JSONStringTooLongError,
    PartialAssembler,
    SnapshotEvent,
    TextAppended,
)
from streamstruct._core._json import (
    DEEP_SNAPSHOT_LEVELS,
    DEEP_SNAPSHOT_SPACING,
    DEFAULT_MAX_STRING_CHARS,
    LONG_STRING_CHARS,
    LONG_STRING_GROWTH,
)
from streamstruct.testing import Reply, Simulator, simulated_client, simulated_sync_client

LONG = 5 * LONG_STRING_CHARS  # long enough for the cadence to show several times


def prose(size: int) -> str:
    words = itertools.cycle(("lorem ", "ipsum ", "dolor ", "sit ", "amet, ", "é ", "中文 "))
    text = "".join(itertools.islice(words, size // 3))
    return text[:size]


def check_cadence(lengths: list[int], final: int, piece: int) -> None:
    """Shown lengths (distinct, in order) follow the rule: every piece while short, then a new
    one only once the string has grown by a 1/LONG_STRING_GROWTH of its length since shown, and
    whole once complete."""
    assert lengths == sorted(set(lengths))
    for before, after in itertools.pairwise(lengths):
        if after == final:
            continue  # complete: shown whole at once
        if before < LONG_STRING_CHARS:
            assert after - before <= piece  # every piece
        else:
            step = before // LONG_STRING_GROWTH
            assert step <= after - before < step + piece  # the first piece that reaches it
    assert lengths[-1] <= final


class Doc(BaseModel):
    title: str
    body: str
    tags: list[str] = []


# -- the parser ---------------------------------------------------------------------------------


def test_a_long_string_is_shown_every_piece_then_each_time_it_grew_by_a_fraction() -> None:
    body = prose(LONG)
    text = json.dumps({"title": "t", "body": body}, ensure_ascii=False)
    parser = JSONParser()
    shown: list[int] = []
    for piece in pieces(text, 4):
        parser.feed(piece)
        snapshot = parser.snapshot()
        if isinstance(snapshot, dict) and "body" in snapshot:
            assert body.startswith(snapshot["body"])
            if not shown or len(snapshot["body"]) != shown[-1]:
                shown.append(len(snapshot["body"]))
    check_cadence(shown, len(body), 4)
    assert shown[0] == 0  # shown as soon as it opens
    assert LONG_STRING_CHARS // 4 < len(shown) < LONG_STRING_CHARS // 4 + 2 * LONG_STRING_GROWTH
    assert parser.close() == {"title": "t", "body": body}  # complete: all of it


def test_the_growing_string_and_its_tail_are_what_was_shown_and_what_came() -> None:
    body = prose(LONG)
    parser = JSONParser()
    parser.feed('{"body": "')
    received = ""
    for piece in pieces(body, 7):
        parser.feed(piece)
        tail = parser.growing_tail(len(received))
        assert tail is not None
        received += tail
        assert received == body[: len(received)]
        start, shown = parser.growing_string() or (None, "")
        assert start == 9
        assert received.startswith(shown)
        assert len(received) - len(shown) <= max(7, len(shown) // LONG_STRING_GROWTH)
    assert received == body
    assert parser.growing_tail(0) == body  # from anywhere, all of it received
    assert parser.growing_tail(len(body) - 3) == body[-3:]
    assert parser.growing_tail(len(body)) == ""
    parser.feed('"}')
    assert parser.growing_tail(0) is None  # no string open


@pytest.mark.parametrize("template", ['[0, "{}"]', '{{"a": "{}"}}', '"{}"'])
@pytest.mark.parametrize("size", [1, 4])
def test_a_long_string_closing_the_document_is_shown_whole(template: str, size: int) -> None:
    # The string's closing quote is the last visible change: no later value makes the parser's
    # snapshot again, so closing the string must.
    text = template.format(prose(LONG))
    parser = JSONParser()
    for piece in pieces(text, size):
        parser.feed(piece)
        parser.snapshot()
    assert parser.snapshot() == json.loads(text)


def test_a_long_string_with_escapes_keeps_its_cadence() -> None:
    body = prose(LONG).replace("é", '\\"').replace("中", "\\u4e2d")
    text = '{"body": "' + body + '"}'
    expected = json.loads(text)["body"]
    parser = JSONParser()
    shown: list[int] = []
    for piece in pieces(text, 5):
        parser.feed(piece)
        snapshot = parser.snapshot()
        if isinstance(snapshot, dict) and "body" in snapshot:
            assert expected.startswith(snapshot["body"])
            if not shown or len(snapshot["body"]) != shown[-1]:
                shown.append(len(snapshot["body"]))
    check_cadence(shown, len(expected), 5)
    assert parser.close()["body"] == expected


# -- the assembler ------------------------------------------------------------------------------


def assemble(text: str, size: int, **options: Any) -> tuple[list[Any], Doc]:
    assembler = PartialAssembler(Doc, **options)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    events: list[Any] = []
    for piece in pieces(text, size):
        parser.feed(piece)
        events += assembler.advance(parser)
    final = assembler.finish(parser.close())
    return events, final


@pytest.mark.parametrize("size", [4, 9])
def test_partial_snapshots_of_a_long_field_follow_the_cadence_and_text_events_every_piece(
    size: int,
) -> None:
    body = prose(LONG)
    value = {"title": "t", "body": body, "tags": ["a"]}
    events, final = assemble(json.dumps(value, ensure_ascii=False), size)
    texts = [e.text for e in events if isinstance(e, TextAppended) and e.path == ("body",)]
    assert "".join(texts) == body  # every piece handed over as it came
    assert len(texts) >= len(body) // size  # one per piece, none held back for the snapshot
    bodies = [e.partial.body for e in events if isinstance(e, SnapshotEvent)]
    lengths = [len(b) for b in bodies if b is not None]
    check_cadence(list(dict.fromkeys(lengths)), len(body), size)
    assert bodies[-1] == body  # the last snapshot shows it whole
    assert final == Doc.model_validate(value)


@pytest.mark.parametrize("cuts", [[4], [3, 9, 5]])
def test_the_shortcuts_show_a_long_string_as_the_general_path_does(cuts: list[int]) -> None:
    """Lockstep: a long string shown from the last snapshot's memos (_grow, _rebuild_from) gives
    the same events, snapshots and progress, piece by piece, as the general path alone."""
    value = {
        "owner": {
            "name": prose(LONG),
            "address": {"city": prose(LONG_STRING_CHARS + 100), "zip_code": "75001"},
            "tags": [{"label": prose(LONG), "weight": 1}],
            "scores": {"a": 1},
            "notes": {"n": "x"},
        },
        "words": ["a", prose(LONG)],
        "pairs": None,
    }
    text = json.dumps(value, ensure_ascii=False)
    for off in EACH_SHORTCUT_OFF:
        _side_by_side(off, lambda assembler_class: _trace(text, cuts, assembler_class))


def test_without_field_events_the_snapshots_are_the_same() -> None:
    body = prose(LONG)
    text = json.dumps({"title": "t", "body": body}, ensure_ascii=False)
    with_events, _ = assemble(text, 4)
    without, _ = assemble(text, 4, field_events=False)
    assert [e.partial for e in with_events if isinstance(e, SnapshotEvent)] == [
        e.partial for e in without
    ]


# -- through the client, async and sync ---------------------------------------------------------


ANSWER = {"title": "Long", "body": prose(LONG), "tags": ["x"]}


def check_stream(events: list[Any], final: Doc) -> None:
    assert final == Doc.model_validate(ANSWER)
    texts = [e.text for e in events if isinstance(e, TextAppended) and e.path == ("body",)]
    assert "".join(texts) == ANSWER["body"]
    snapshots = [e.partial for e in events if isinstance(e, SnapshotEvent)]
    lengths = [len(s.body) for s in snapshots if s.body is not None]
    assert lengths == sorted(lengths)
    assert snapshots[-1].body == ANSWER["body"]


@pytest.mark.anyio
async def test_events_of_a_long_field_add_up_to_the_string() -> None:
    simulator = Simulator(responses=Reply(ANSWER), chunk_size=4)
    async with simulated_client(simulator, mode="json_schema") as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Doc, messages=[{"role": "user", "content": "x"}]
        )
        events = [event async for event in stream.events()]
        check_stream(events, await stream.get_final())


def test_events_of_a_long_field_add_up_to_the_string_sync() -> None:
    simulator = Simulator(responses=Reply(ANSWER), chunk_size=4)
    with simulated_sync_client(simulator, mode="json_schema") as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Doc, messages=[{"role": "user", "content": "x"}]
        )
        events = list(stream.events())
        check_stream(events, stream.get_final())


# -- the limit on one string --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pieces_of"),
    [
        ('{"body": "' + "a" * 50, 4),  # plain pieces (the fast path)
        ('{"body": "' + "a\\n" * 20, 4),  # pieces with escapes
        ('{"body": "' + "a" * 50, 100),  # in one piece, open
        ('{"body": "' + "a" * 50 + '"}', 100),  # in one piece, closed
        ('{"' + "k" * 50 + '": 1}', 3),  # a key
        ('{"' + "k" * 50 + '": 1}', 100),  # a key in one piece
    ],
)
def test_a_string_past_max_string_chars_is_refused_and_the_parser_is_spent(
    text: str, pieces_of: int
) -> None:
    parser = JSONParser(max_string_chars=30)
    with pytest.raises(JSONStringTooLongError) as caught:
        feed_all(parser, pieces(text, pieces_of))
    error = caught.value
    assert isinstance(error, streamstruct.JSONParseError)
    assert "max_string_chars=30" in str(error)
    assert "starting at offset" in str(error)
    assert 30 < error.offset <= len(text)
    with pytest.raises(JSONStringTooLongError):
        parser.feed('"')
    with pytest.raises(JSONStringTooLongError):
        parser.close()


def feed_all(parser: JSONParser, chunks: list[str]) -> None:
    for piece in chunks:
        parser.feed(piece)


def test_a_string_of_exactly_max_string_chars_passes_and_none_means_no_cap() -> None:
    parser = JSONParser(max_string_chars=30)
    for piece in pieces('{"' + "k" * 30 + '": "' + "é" * 30 + '"}', 4):
        parser.feed(piece)
    assert parser.close() == {"k" * 30: "é" * 30}
    unbounded = JSONParser(max_string_chars=None)
    unbounded.feed('"' + "a" * (DEFAULT_MAX_STRING_CHARS + 1) + '"')
    assert len(unbounded.close()) == DEFAULT_MAX_STRING_CHARS + 1
    with pytest.raises(ValueError, match="max_string_chars"):
        JSONParser(max_string_chars=0)


@pytest.mark.anyio
async def test_an_endless_string_is_cut_off_with_the_partial_and_the_text() -> None:
    body = "lorem ipsum " * 1000  # a server that would go on and on: it is cut off first
    simulator = Simulator(responses=Reply({"title": "t", "body": body}), chunk_size=64)
    async with simulated_client(simulator, mode="json_schema", max_string_chars=5000) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Doc, messages=[{"role": "user", "content": "x"}]
        )
        with anyio.fail_after(30), pytest.raises(JSONStringTooLongError) as caught:
            await stream.get_final()
    error = caught.value
    assert "max_string_chars=5000" in str(error)
    assert error.partial is not None
    assert error.partial.title == "t"
    assert body.startswith(error.partial.body)
    assert error.text.startswith('{"title":"t","body":"lorem ipsum')
    assert 5000 < len(error.text) < 5000 + 200


def test_the_sync_client_takes_max_string_chars() -> None:
    simulator = Simulator(responses=Reply({"title": "t", "body": "x" * 100}), chunk_size=16)
    with simulated_sync_client(simulator, mode="json_schema", max_string_chars=50) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Doc, messages=[{"role": "user", "content": "x"}]
        )
        with pytest.raises(JSONStringTooLongError) as caught:
            stream.get_final()
    assert caught.value.partial is not None
    assert caught.value.text.startswith('{"title":"t","body":"xxx')


def test_max_string_chars_is_checked_when_the_client_is_made() -> None:
    with pytest.raises(ValueError, match="max_string_chars"):
        streamstruct.AsyncClient(api_key="k", max_string_chars=0)
    client = streamstruct.AsyncClient(api_key="k")
    assert client.max_string_chars == DEFAULT_MAX_STRING_CHARS == 8 * 1024 * 1024


# -- depth --------------------------------------------------------------------------------------


def test_eight_thousand_nested_arrays_cost_memory_linear_in_their_depth() -> None:
    # Each open container held its whole path: 8,000 nested arrays made 256 MB of tuples.
    depth = 8000
    parser = JSONParser(max_depth=10_000)
    tracemalloc.start()
    try:
        for piece in pieces("[" * depth + "]" * depth, 4):
            parser.feed(piece)
            parser.snapshot()
            parser.pop_completed()
        value = parser.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    for _ in range(depth - 1):
        (value,) = value
    assert value == []


def at(value: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def test_deep_paths_are_derived_right() -> None:
    """The paths of completed values and of the open container, derived from the containers
    above (not stored in each), on a deep mix of objects and arrays with members at every level."""
    inner: Any = ["leaf"]
    for level in range(300):
        inner = {"n": level, "c": [level, inner, "x"]} if level % 2 else [level, {"k": inner}]
    text = json.dumps(inner)
    parser = JSONParser(max_depth=2000)
    seen = []
    for piece in pieces(text, 3):
        parser.feed(piece)
        open_path = parser.open_container_path()
        if open_path is not None:
            assert text[parser.offset :].count("]") + text[parser.offset :].count("}") >= len(
                open_path
            )
        seen += parser.pop_completed()
    value = parser.close()
    seen += parser.pop_completed()
    assert value == inner
    assert seen[-1].path == ()
    for done in seen:
        assert at(value, done.path) == done.value
        assert json.loads(text[done.start : done.end]) == done.value
    assert len({done.path for done in seen}) == len(seen)


def test_a_deep_open_path_is_the_chain_of_slots() -> None:
    parser = JSONParser()
    parser.feed('{"a": [1, {"b": [[[')
    assert parser.open_container_path() == ("a", 1, "b", 0, 0)
    assert parser.is_complete(("a", 0))
    assert not parser.is_complete(("a", 1))


def test_a_deep_snapshot_is_made_again_once_the_text_grew_by_the_spacing_times_the_depth() -> None:
    growth = 1 + DEEP_SNAPSHOT_SPACING  # depth shown last, then that many characters more
    depth = DEEP_SNAPSHOT_LEVELS * growth**2
    parser = JSONParser(completion_depth=0, max_depth=depth + 1)
    shown: list[tuple[int, int]] = []  # (characters fed, open depth shown)
    last = None
    for fed in range(1, depth + 1):
        parser.feed("[")
        snapshot = parser.snapshot()
        if snapshot is not last:
            last = snapshot
            levels = 0
            while snapshot == [] or (isinstance(snapshot, list) and snapshot):
                levels += 1
                snapshot = snapshot[0] if snapshot else None
            shown.append((fed, levels))
    assert [levels for fed, levels in shown if fed <= DEEP_SNAPSHOT_LEVELS] == list(
        range(1, DEEP_SNAPSHOT_LEVELS + 1)
    )  # every piece while shallow
    deep = [fed for fed, _ in shown if fed > DEEP_SNAPSHOT_LEVELS]
    # then again each time the text grew by the spacing times the depth shown last: at 32 deep,
    # 8 x 32 characters more (288 fed), then 8 x 288 more (2,592 fed)
    assert deep == [288, 2592] == [DEEP_SNAPSHOT_LEVELS * growth, DEEP_SNAPSHOT_LEVELS * growth**2]
    assert all(levels == fed for fed, levels in shown)  # never stale in what it shows
    parser.feed("1" + "]" * depth)
    final = parser.close()
    assert parser.snapshot() is final  # complete: shown at once
    for _ in range(depth - 1):  # (== on the whole would recurse too deep)
        (final,) = final
    assert final == [1]


def at_depth(depth: int) -> Any:
    value: Any = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_recorded_completion_shows_at_once_however_deep() -> None:
    depth = 2 * DEEP_SNAPSHOT_LEVELS
    parser = JSONParser()  # every value recorded
    parser.feed("[" * depth)
    first = parser.snapshot()
    parser.feed("1,")
    assert parser.pop_completed()[0].path == (0,) * (depth - 1) + (0,)
    assert parser.snapshot() is not first  # a value completed: shown


# -- a long array inside another ----------------------------------------------------------------


@pytest.mark.skipif(
    sys.implementation.name != "cpython", reason="a list is remade only where counts are exact"
)
@pytest.mark.parametrize("head", ["[[", '[{"a": [', '{"d": [[1], ['])
def test_a_long_array_inside_another_is_remade_not_copied(head: str) -> None:
    # The outer array's old copy held the inner one's, so the inner one was copied whole for
    # every snapshot: 5,000 members, 40 KB a snapshot. Remade, it costs what was added.
    parser = JSONParser()
    parser.feed(head + "".join(f"{k}, " for k in range(5_000)))
    snapshot = parser.snapshot()
    costs = []
    tracemalloc.start()
    try:
        for k in range(5_000, 5_060):
            parser.feed(f"{k}, ")
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            snapshot = parser.snapshot()
            costs.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    inner = snapshot
    while not (isinstance(inner, list) and inner and inner[0] == 0):
        inner = inner[-1] if isinstance(inner, list) else inner[next(reversed(inner))]
    assert inner == list(range(5_060))
    assert statistics.median(costs) < 5_000, costs


def test_held_snapshots_of_arrays_open_inside_arrays_never_change() -> None:
    text = json.dumps(
        [[{"a": [list(range(k)) for k in range(6)]}, list(range(9))] for _ in range(4)]
    )
    parser = JSONParser()
    held: list[tuple[Any, Any]] = []
    for k, piece in enumerate(pieces(text, 3)):
        parser.feed(piece)
        snapshot = parser.snapshot()
        if k % 4 == 0:
            held.append((snapshot, copy.deepcopy(snapshot)))
        inner = snapshot
        while isinstance(inner, list) and inner and isinstance(inner[-1], list | dict):
            inner = inner[-1] if isinstance(inner[-1], list) else next(iter(inner[-1].values()), 0)
        if k % 3 == 0 and isinstance(inner, list):
            held.append((inner, list(inner)))
    assert parser.close() == json.loads(text)
    for value, at_the_time in held:
        assert value == at_the_time


# -- lean: the final object made of the members validated as they closed ------------------------


class Row(BaseModel):
    id: int
    name: str
    tags: list[str] = []


class Table(BaseModel):
    title: str
    rows: list[Row]


TABLE = {
    "title": "t",
    "rows": [{"id": k, "name": f"r{k}", "tags": ["a"] * (k % 3)} for k in range(7)],
}


def table_events(model: type[BaseModel], value: Any) -> tuple[list[Any], Any]:
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    events: list[Any] = []
    for piece in pieces(json.dumps(value), 5):
        parser.feed(piece)
        events += assembler.advance(parser)
    final = assembler.finish(parser.close())
    events += assembler.advance(parser)
    return events, final


def completed(events: list[Any], path: tuple[Any, ...]) -> Any:
    return next(
        e.value for e in events if isinstance(e, streamstruct.FieldCompleted) and e.path == path
    )


def test_the_final_object_holds_the_rows_validated_as_they_closed() -> None:
    events, final = table_events(Table, TABLE)
    assert final == Table.model_validate(TABLE)
    rows = [completed(events, ("rows", k)) for k in range(7)]
    assert all(a is b for a, b in zip(completed(events, ("rows",)), rows, strict=True))
    assert all(a is b for a, b in zip(final.rows, rows, strict=True))  # no second copy


class CheckedRow(Row):
    @model_validator(mode="after")
    def count(self) -> CheckedRow:
        CALLS.append(self.id)
        return self


class Shouting(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def shout(cls, value: str) -> str:
        return value + "!"


class Wrapped(BaseModel):
    title: str
    rows: list[CheckedRow]
    people: list[Shouting]

    @model_validator(mode="after")
    def whole(self) -> Wrapped:
        CALLS.append(-1)
        return self


CALLS: list[int] = []


def test_members_with_validators_are_validated_from_the_json_as_before() -> None:
    value = {**TABLE, "people": [{"name": "a"}, {"name": "b"}]}
    CALLS.clear()
    events, final = table_events(Wrapped, value)
    assert CALLS.count(-1) == 1  # the model validator: at finish only
    assert final == Wrapped.model_validate(value)
    assert [p.name for p in final.people] == ["a!", "b!"]  # once, not twice
    assert final.rows[0] is not completed(events, ("rows", 0))  # made again from the JSON


class Always(Row):
    model_config = ConfigDict(revalidate_instances="always")


class AlwaysTable(BaseModel):
    rows: list[Always]


def test_a_model_that_revalidates_its_instances_is_made_from_the_json() -> None:
    value = {"rows": TABLE["rows"]}
    events, final = table_events(AlwaysTable, value)
    assert final == AlwaysTable.model_validate(value)
    assert final.rows[0] is not completed(events, ("rows", 0))


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    name: str


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    name: str


def pet_kind(value: Any) -> str:
    return str(value["kind"])  # written for the JSON value (a dict), as the docs show


Pet = Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator(pet_kind)]


class Pets(BaseModel):
    pets: list[Pet]
    best: Pet


def test_a_callable_discriminator_is_not_handed_the_validated_members() -> None:
    value = {"pets": [{"kind": "cat", "name": "a"}, {"kind": "dog", "name": "b"}]}
    value["best"] = {"kind": "dog", "name": "c"}
    _, final = table_events(Pets, value)
    assert final == Pets.model_validate_json(json.dumps(value))


class Lazy(BaseModel):
    xs: Iterable[int]
    title: str


def test_an_iterable_field_read_from_its_event_is_whole_in_the_final_object() -> None:
    value = {"xs": [1, 2, 3], "title": "t"}
    events, final = table_events(Lazy, value)
    assert list(completed(events, ("xs",))) == [1, 2, 3]  # a lazy iterator, used up here
    assert list(final.xs) == [1, 2, 3]


# Field types for the property test below: each with the JSON values it is given (valid or not).
FIELD_KINDS: list[tuple[Any, list[Any]]] = [
    (int, [1, -3, "7", 1.5, None]),
    (str, ["a", "", 2]),
    (float, [1, 2.5, "x"]),
    (int | None, [None, 4]),
    (Annotated[int, Field(ge=0)], [0, 3, -1]),
    (int | str, [1, "1", "b"]),
    (Literal["a", "b"], ["a", "c"]),
    (list[int], [[], [1, 2], [1, "x"]]),
    (Row, [{"id": 1, "name": "r"}, {"id": "x", "name": "r"}]),
    (list[Row], [[], [{"id": 1, "name": "r", "tags": ["t"]}], [{"id": 1}]]),
    (Pet, [{"kind": "cat", "name": "c"}, {"kind": "dog", "name": 1}]),
    (list[Pet], [[{"kind": "dog", "name": "d"}, {"kind": "cat", "name": "c"}]]),
]


@st.composite
def models_and_values(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, Any]]:
    fields: dict[str, Any] = {}
    value: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 4))):
        annotation, samples = draw(st.sampled_from(FIELD_KINDS))
        alias = f"F{index}" if draw(st.booleans()) else None
        if draw(st.booleans()):
            fields[f"f{index}"] = (annotation | None, Field(default=None, alias=alias))
            if draw(st.booleans()):
                continue  # absent: the default
        else:
            fields[f"f{index}"] = (annotation, Field(alias=alias))
        value[alias or f"f{index}"] = draw(st.sampled_from(samples))
    if draw(st.booleans()):
        value["unknown"] = 1
    extra = draw(st.sampled_from(["ignore", "forbid", "allow"]))
    model = create_model("Random", __config__=ConfigDict(extra=extra), **fields)
    return model, value


@settings(max_examples=80, deadline=None)
@given(models_and_values(), st.integers(1, 9))
def test_the_final_object_is_what_validating_the_json_gives(
    model_and_value: tuple[type[BaseModel], dict[str, Any]], size: int
) -> None:
    model, value = model_and_value
    text = json.dumps(value)
    try:
        expected: Any = model.model_validate_json(text)
    except ValidationError:
        expected = ValidationError
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    kept: list[tuple[Any, Any]] = []
    try:
        for piece in pieces(text, size):
            parser.feed(piece)
            for event in assembler.advance(parser):
                if isinstance(event, SnapshotEvent):
                    kept.append((event.partial, event.partial.model_dump()))
        got: Any = assembler.finish(parser.close())
    except streamstruct.ResponseValidationError:
        got = ValidationError
    assert got == expected
    assert all(snapshot.model_dump() == shown for snapshot, shown in kept)  # never changed
