"""Partial[M] and PartialAssembler: real JSON text, fed in pieces, through the real parser.

Pure sync tests: the assembler is sans-I/O. Most documents are fed on every split (1 to 10 characters,
and random splits), since the answer must never depend on where the network cut the text.
"""

from __future__ import annotations

import enum
import itertools
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from shared_support import UserWithBio as User
from shared_support import chunks
from source_support import python_source

from streamstruct import PartialAssembler, ResponseValidationError
from streamstruct._core._json import JSONParser, Path
from streamstruct._model._assembler import SnapshotShortcuts
from streamstruct._model._partial import (
    FieldCompleted,
    FieldStarted,
    Partial,
    PartialEvent,
    Progress,
    SnapshotEvent,
    TextAppended,
    progress,
)

# -- helpers ------------------------------------------------------------------------------------


SPLITS: list[int | str] = [*range(1, 11), "random-1", "random-2", "random-3"]


@dataclass
class Run:
    assembler: PartialAssembler[Any]
    parser: JSONParser
    fed: list[str] = field(default_factory=list)
    steps: list[tuple[str, list[PartialEvent]]] = field(default_factory=list)

    @property
    def events(self) -> list[PartialEvent]:
        return [event for _, events in self.steps for event in events]

    @property
    def snapshots(self) -> list[Any]:
        return [e.partial for e in self.events if isinstance(e, SnapshotEvent)]

    def feed(self, piece: str) -> list[PartialEvent]:
        self.fed.append(piece)
        self.parser.feed(piece)
        events = self.assembler.advance(self.parser)
        self.steps.append((piece, events))
        return events

    def feed_piece(self, piece: str) -> str:
        self.feed(piece)
        return piece

    def finish(self) -> Any:
        return self.assembler.finish(self.parser.close())


def start(
    model: type[BaseModel],
    *,
    assembler_class: Callable[..., Any] = PartialAssembler,
    **options: Any,
) -> Run:
    fed: list[str] = []
    assembler = assembler_class(model, text=lambda: "".join(fed), **options)
    run = Run(assembler, JSONParser(completion_depth=assembler.completion_depth), fed)
    return run


def stream(model: type[BaseModel], text: str, split: int | str = 1, **options: Any) -> Run:
    run = start(model, **options)
    for piece in chunks(text, split):
        run.feed(piece)
    return run


def simple(events: list[PartialEvent]) -> list[tuple[Any, ...]]:
    """Events as tuples, snapshots as their dumped fields."""
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, SnapshotEvent):
            out.append(("snapshot", event.partial.model_dump(exclude_unset=True)))
        elif isinstance(event, TextAppended):
            out.append(("text", event.path, event.text))
        elif isinstance(event, FieldCompleted):
            out.append(("completed", event.path, event.value))
        else:
            out.append(("started", event.path))
    return out


def is_prefix_sequence(values: list[Any], final: str) -> bool:
    """Each value is a prefix of the next, and of ``final``."""
    strings = [v for v in values if v is not None]
    return all(final.startswith(v) for v in strings) and all(
        b.startswith(a) for a, b in itertools.pairwise(strings)
    )


# -- the seed's User ----------------------------------------------------------------------------


USER_JSON = '{"name": "Alice", "age": 28, "bio": "Alice writes {curly} [code] and \\"quotes\\"."}'
USER = User.model_validate_json(USER_JSON)


@pytest.mark.parametrize("split", SPLITS)
def test_user_grows_by_field_on_every_split(split: int | str) -> None:
    run = stream(User, USER_JSON, split)
    snapshots = run.snapshots
    assert all(isinstance(s, Partial[User]) for s in snapshots)
    # age is never shown truncated: 28 or nothing, never 2
    assert {s.age for s in snapshots} <= {None, 28}
    assert is_prefix_sequence([s.name for s in snapshots], "Alice")
    assert is_prefix_sequence([s.bio for s in snapshots], USER.bio)
    final = snapshots[-1]
    assert final.model_dump() == USER.model_dump()
    assert progress(final).percent == 100
    assert run.finish() == USER


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(max_size=12),
    age=st.integers(min_value=-(10**6), max_value=10**6),
    bio=st.text(max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=30),
)
def test_any_user_on_any_split(name: str, age: int, bio: str, cuts: list[int]) -> None:
    """Whatever the text and wherever the cuts: strings only grow, age is whole or absent, and
    the last snapshot and the final model are the document."""
    text = json.dumps({"name": name, "age": age, "bio": bio}, ensure_ascii=bool(age % 2))
    run = start(User)
    i = 0
    for size in itertools.cycle(cuts):
        if i >= len(text):
            break
        run.feed(text[i : i + size])
        i += size
    snapshots = run.snapshots
    assert {s.age for s in snapshots} <= {None, age}
    assert is_prefix_sequence([s.name for s in snapshots], name)
    assert is_prefix_sequence([s.bio for s in snapshots], bio)
    assert snapshots[-1].model_dump() == {"name": name, "age": age, "bio": bio}
    assert run.finish() == User(name=name, age=age, bio=bio)


def test_age_is_never_shown_before_its_delimiter() -> None:
    run = start(User)
    for piece in ['{"name": "A", "age": 2', "8"]:
        run.feed(piece)
    assert run.assembler.snapshot is not None
    assert run.assembler.snapshot.age is None
    run.feed(",")
    assert run.assembler.snapshot.age == 28


def test_seed_progress_tracker_is_one_line() -> None:
    """The seed's ProgressTracker, whose 20 lines become one."""
    text = '{"name": "Carol", "age": 42, "bio": "Carol is a passionate hiker."}'
    run = stream(User, text, split=4)
    lines = [
        f"Progress: {progress(p)} - Current data: {p.model_dump(exclude_unset=True)}"
        for p in run.snapshots
    ]
    assert "Progress: 33% - Current data: {'name': 'Carol'}" in lines
    assert "Progress: 66% - Current data: {'name': 'Carol', 'age': 42}" in lines
    assert lines[-1] == (
        "Progress: 100% - Current data: "
        "{'name': 'Carol', 'age': 42, 'bio': 'Carol is a passionate hiker.'}"
    )
    percents = [progress(p).percent for p in run.snapshots]
    assert percents == sorted(percents)
    assert set(percents) == {0, 33, 66, 100}


def test_progress_figures_for_the_three_fields() -> None:
    run = start(User)
    run.feed('{"name": "Ca')
    first = progress(run.assembler.snapshot)  # type: ignore[arg-type]
    assert first == Progress(
        complete=frozenset(),
        streaming=frozenset({("name",)}),
        missing=frozenset({("age",), ("bio",)}),
        fraction=0.0,
    )
    run.feed('rol", ')
    assert progress(run.assembler.snapshot).percent == 33  # type: ignore[arg-type]
    run.feed('"age": 42, "bio": "x')
    at_bio = progress(run.assembler.snapshot)  # type: ignore[arg-type]
    assert at_bio.percent == 66
    assert at_bio.complete == {("name",), ("age",)}
    assert at_bio.streaming == {("bio",)}
    assert at_bio.missing == frozenset()
    run.feed('"}')
    done = progress(run.assembler.snapshot)  # type: ignore[arg-type]
    assert (done.percent, done.fraction, str(done)) == (100, 1.0, "100%")
    # progress is a property of each snapshot, not of the assembler: old ones keep theirs
    assert progress(run.snapshots[0]).percent == 0


def test_event_sequence_for_a_small_document() -> None:
    run = stream(User, '{"name": "Al", "age": 7, "bio": "Hi"}', split=1)
    assert simple(run.events) == [
        ("snapshot", {}),
        ("started", ("name",)),
        ("snapshot", {"name": ""}),
        ("text", ("name",), "A"),
        ("snapshot", {"name": "A"}),
        ("text", ("name",), "l"),
        ("snapshot", {"name": "Al"}),
        ("completed", ("name",), "Al"),
        ("snapshot", {"name": "Al"}),  # same data, new progress: name is complete
        ("started", ("age",)),
        ("completed", ("age",), 7),
        ("snapshot", {"name": "Al", "age": 7}),
        ("started", ("bio",)),
        ("snapshot", {"name": "Al", "age": 7, "bio": ""}),
        ("text", ("bio",), "H"),
        ("snapshot", {"name": "Al", "age": 7, "bio": "H"}),
        ("text", ("bio",), "i"),
        ("snapshot", {"name": "Al", "age": 7, "bio": "Hi"}),
        ("completed", ("bio",), "Hi"),
        ("snapshot", {"name": "Al", "age": 7, "bio": "Hi"}),
        ("snapshot", {"name": "Al", "age": 7, "bio": "Hi"}),  # the brace: complete (100%)
    ]


@pytest.mark.parametrize("split", SPLITS)
def test_events_tell_the_same_story_on_every_split(split: int | str) -> None:
    run = stream(User, USER_JSON, split)
    events = [e for e in run.events if not isinstance(e, SnapshotEvent)]
    assert [e for e in events if isinstance(e, FieldStarted)] == [
        FieldStarted(("name",)),
        FieldStarted(("age",)),
        FieldStarted(("bio",)),
    ]
    assert [e for e in events if isinstance(e, FieldCompleted)] == [
        FieldCompleted(("name",), "Alice"),
        FieldCompleted(("age",), 28),
        FieldCompleted(("bio",), USER.bio),
    ]
    for name in ("name", "bio"):
        appended = "".join(
            e.text for e in events if isinstance(e, TextAppended) and e.path == (name,)
        )
        assert appended == getattr(USER, name)
    # every field starts before its text, and its text comes before its completion
    order = [(type(e).__name__, e.path) for e in events]
    for name in ("name", "bio"):
        kinds = [kind for kind, path in order if path == (name,)]
        assert kinds[0] == "FieldStarted"
        assert kinds[-1] == "FieldCompleted"


def test_nothing_visible_changed_means_no_event_and_the_same_object() -> None:
    run = start(User)
    run.feed('{"name": "Bob"')
    before = run.assembler.snapshot
    assert run.feed("   ") == []
    assert run.feed("") == []
    assert run.feed(', "ag') == []  # a key alone shows nothing
    assert run.assembler.snapshot is before
    # a number being written is not visible either
    assert run.feed('e": 3') == []
    assert run.feed("5") == []
    assert run.assembler.snapshot is before


def test_the_closing_brace_makes_the_last_snapshot_complete() -> None:
    # Every field is there before the brace, but the object is complete only with it: progress()
    # says 1.0 exactly then (issue 16), so the brace is worth one more snapshot, the same data.
    run = stream(User, '{"name": "A", "age": 1, "bio": "B"}', split=1)
    brace, events = run.steps[-1]
    assert brace == "}"
    assert len(events) == 1
    assert isinstance(events[0], SnapshotEvent)
    before, last = run.snapshots[-2:]
    assert last is events[0].partial
    assert last.model_dump() == before.model_dump()
    assert progress(before).percent == 99
    assert progress(last).percent == 100


def test_a_field_with_a_default_left_out_is_complete_when_the_object_closes() -> None:
    class Settings(BaseModel):
        title: str
        retries: int = 3

    run = stream(Settings, '{"title": "x"}')
    assert progress(run.snapshots[-2]).percent == 50  # title done, retries may still come
    last = run.snapshots[-1]
    assert progress(last).percent == 100
    assert progress(last).missing == frozenset()
    assert run.finish() == Settings(title="x", retries=3)


# -- Literal, Enum and other types shown only once complete ------------------------------------


class Role(str, enum.Enum):
    ADMIN = "admin"
    USER = "user"


class Account(BaseModel):
    level: Literal["admin", "user"]
    role: Role
    active: bool
    score: float
    nothing: None = None


@pytest.mark.parametrize("split", SPLITS)
def test_literal_enum_bool_and_numbers_are_never_partial(split: int | str) -> None:
    text = '{"level": "admin", "role": "user", "active": true, "score": -12.5e1, "nothing": null}'
    run = stream(Account, text, split)
    for snapshot in run.snapshots:
        assert snapshot.level in (None, "admin")
        assert snapshot.role in (None, Role.USER)
        assert snapshot.active in (None, True)
        assert snapshot.score in (None, -125.0)
    last = run.snapshots[-1]
    assert last.role is Role.USER  # the validated value, not the string
    assert progress(last).percent == 100
    assert run.finish() == Account(level="admin", role=Role.USER, active=True, score=-125.0)


def test_a_literal_being_written_is_streaming_but_not_shown() -> None:
    run = start(Account)
    run.feed('{"level": "ad')
    snapshot = run.assembler.snapshot
    assert snapshot is not None
    assert snapshot.level is None
    assert progress(snapshot).streaming == {("level",)}
    assert FieldStarted(("level",)) in run.events
    assert not any(isinstance(e, TextAppended) for e in run.events)


def test_dates_and_constrained_strings() -> None:
    import datetime

    class Event(BaseModel):
        when: datetime.date
        code: Annotated[str, Field(pattern=r"^[A-Z]+$")]

    run = stream(Event, '{"when": "2024-05-01", "code": "ABC"}')
    assert {s.when for s in run.snapshots} <= {None, datetime.date(2024, 5, 1)}
    assert is_prefix_sequence([s.code for s in run.snapshots], "ABC")


# -- nested models, lists, dicts ----------------------------------------------------------------


class Address(BaseModel):
    city: str
    zip_code: str


class Tag(BaseModel):
    label: str
    weight: int = 1


class Person(BaseModel):
    name: str
    address: Address
    tags: list[Tag]
    scores: dict[str, int]
    notes: dict[str, str] = {}


PERSON_JSON = json.dumps(
    {
        "name": "Bob",
        "address": {"city": "Paris", "zip_code": "75001"},
        "tags": [{"label": "a}b", "weight": 2}, {"label": "[c]"}],
        "scores": {"math": 19, "art": 12},
        "notes": {"x": "hello", "y": "world"},
    }
)
PERSON = Person.model_validate_json(PERSON_JSON)


@pytest.mark.parametrize("split", SPLITS)
def test_nested_models_lists_and_dicts(split: int | str) -> None:
    run = stream(Person, PERSON_JSON, split)
    for snapshot in run.snapshots:
        address = snapshot.address
        assert address is None or isinstance(address, (Address, Partial[Address]))
        if isinstance(address, Partial[Address]):
            assert is_prefix_sequence([address.city], "Paris")
            assert address.zip_code is None or "75001".startswith(address.zip_code)
        for i, tag in enumerate(snapshot.tags or []):
            # completed items are validated Tags; only the last one may be partial
            if i < len(snapshot.tags) - 1:
                assert isinstance(tag, Tag)
            assert tag.weight in (None, 1, 2)
        for key, value in (snapshot.scores or {}).items():
            assert value == PERSON.scores[key]  # numbers appear complete
        for key, value in (snapshot.notes or {}).items():
            assert PERSON.notes[key].startswith(value)  # strings grow
    final = run.snapshots[-1]
    assert final.model_dump() == PERSON.model_dump()
    assert isinstance(final.address, Address)
    assert all(isinstance(tag, Tag) for tag in final.tags)
    assert run.finish() == PERSON


def test_nested_paths_in_events() -> None:
    run = stream(Person, PERSON_JSON, split=1)
    completed = [e.path for e in run.events if isinstance(e, FieldCompleted)]
    assert completed == [
        ("name",),
        ("address", "city"),
        ("address", "zip_code"),
        ("address",),
        ("tags", 0, "label"),
        ("tags", 0, "weight"),
        ("tags", 0),
        ("tags", 1, "label"),
        ("tags", 1),
        ("tags",),
        ("scores", "math"),
        ("scores", "art"),
        ("scores",),
        ("notes", "x"),
        ("notes", "y"),
        ("notes",),
    ]
    started = [e.path for e in run.events if isinstance(e, FieldStarted)]
    assert started == [*dict.fromkeys(started)]  # each path starts once
    assert set(started) == set(completed)
    values = {e.path: e.value for e in run.events if isinstance(e, FieldCompleted)}
    assert values[("address",)] == Address(city="Paris", zip_code="75001")
    assert values[("tags", 1)] == Tag(label="[c]")
    text = "".join(
        e.text for e in run.events if isinstance(e, TextAppended) and e.path == ("tags", 0, "label")
    )
    assert text == "a}b"


def test_progress_inside_nested_objects_and_lists() -> None:
    run = start(Person)
    run.feed('{"name": "Bob", "address": {"city": "Pa')
    snapshot = run.assembler.snapshot
    assert snapshot is not None
    report = progress(snapshot)
    assert report.complete == {("name",)}
    assert report.streaming == {("address",), ("address", "city")}
    assert report.missing == {("tags",), ("scores",), ("notes",), ("address", "zip_code")}
    assert report.fraction == pytest.approx(1 / 5)
    assert progress(snapshot.address).streaming == {("city",)}  # nested snapshots answer too
    run.feed('ris", "zip_code": "1"}, "tags": [{"label": "x"}, {"label": "y", "weight": 3')
    report = progress(run.assembler.snapshot)  # type: ignore[arg-type]
    assert report.complete == {("name",), ("address",), ("tags", 0), ("tags", 1, "label")}
    assert report.streaming == {("tags",), ("tags", 1)}  # the weight is not visible yet
    assert report.is_complete(("address", "city"))
    assert not report.is_complete(("tags", 1))
    assert report.percent == 40


def test_unchanged_subtrees_are_the_same_objects() -> None:
    run = start(Person)
    run.feed(
        '{"name": "Bob", "address": {"city": "Paris", "zip_code": "1"}, "tags": [{"label": "x"},'
    )
    first = run.assembler.snapshot
    assert first is not None
    run.feed(' {"label": "y')
    second = run.assembler.snapshot
    assert second is not first
    assert second.address is first.address  # complete: reused, not rebuilt
    assert second.tags[0] is first.tags[0]
    run.feed("yy")
    third = run.assembler.snapshot
    assert third.tags[0] is first.tags[0]
    assert third.tags[1] is not second.tags[1]
    assert third.tags[1].label == "yyy"


def test_a_growing_list_never_changes_an_earlier_snapshot() -> None:
    # The assembler grows its own list of complete members in place; every snapshot must still
    # hold a list of its own, fixed when it was taken.
    text = '{"name": "Bob", "tags": [' + ", ".join(f'{{"label": "t{i}"}}' for i in range(12)) + "]}"
    run = start(Person)
    taken: list[tuple[list[str], Any]] = []
    for k in range(0, len(text), 3):
        run.feed(text[k : k + 3])
        snapshot = run.assembler.snapshot
        if snapshot is not None and snapshot.tags is not None:
            taken.append(([tag.label for tag in snapshot.tags], snapshot))
    assert len({len(labels) for labels, _ in taken}) >= 12  # the list shown growing
    for labels, snapshot in taken:
        assert [tag.label for tag in snapshot.tags] == labels


def test_the_snapshot_is_frozen() -> None:
    run = stream(User, '{"name": "A"')
    snapshot = run.assembler.snapshot
    with pytest.raises(ValueError, match="frozen"):
        snapshot.name = "B"  # type: ignore[union-attr]


class TreeNode(BaseModel):
    label: str
    children: list[TreeNode] = []


def test_recursive_models() -> None:
    text = '{"label": "root", "children": [{"label": "a", "children": [{"label": "a1"}]}, {"label": "b"}]}'
    assembler = PartialAssembler(TreeNode)
    assert assembler.completion_depth is None  # any depth may matter
    run = stream(TreeNode, text)
    deep = [
        s.children[0].children[0] for s in run.snapshots if s.children and s.children[0].children
    ]
    assert deep
    assert isinstance(deep[0], Partial[TreeNode])
    assert run.finish() == TreeNode.model_validate_json(text)
    assert FieldCompleted(("children", 0, "children", 0, "label"), "a1") in run.events


# -- Optional and union fields -------------------------------------------------------------------


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    name: str


class Owner(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    spare: Address | None = None
    nick: int | str | None = None
    either: Cat | Dog | None = None


@pytest.mark.parametrize("split", SPLITS)
def test_optional_and_union_fields(split: int | str) -> None:
    text = json.dumps(
        {
            "pet": {"kind": "dog", "name": "Rex"},
            "spare": None,
            "nick": "Bobby",
            "either": {"lives": 9, "kind": "cat"},
        }
    )
    run = stream(Owner, text, split)
    for snapshot in run.snapshots:
        pet = snapshot.pet
        # once the discriminator is complete, the pet is shown as a (partial) Dog
        assert pet is None or isinstance(pet, (Dog, Partial[Dog], Partial[Cat]))
        if isinstance(pet, Partial[Dog]):
            assert pet.kind in (None, "dog")
            assert pet.name is None or "Rex".startswith(pet.name)
        assert snapshot.nick is None or "Bobby".startswith(snapshot.nick)
    final = run.snapshots[-1]
    assert final.pet == Dog(kind="dog", name="Rex")
    assert final.spare is None
    assert "spare" in final.model_fields_set
    assert final.either == Cat(kind="cat", lives=9)
    assert run.finish() == Owner.model_validate_json(text)


def test_a_discriminated_union_is_shown_as_the_tagged_option() -> None:
    run = start(Owner)
    run.feed('{"pet": {"kind": "dog", "name": "Re')
    pet = run.assembler.snapshot.pet  # type: ignore[union-attr]
    assert isinstance(pet, Partial[Dog])
    assert (pet.kind, pet.name) == ("dog", "Re")
    # inside a union nothing is reported on its own: the union value is, when it closes
    assert [e.path for e in run.events if not isinstance(e, SnapshotEvent)] == [("pet",)]


def test_a_union_value_is_validated_when_it_closes() -> None:
    run = start(Owner)
    run.feed('{"pet": {"kind": "dog", "name": 5')
    with pytest.raises(ResponseValidationError) as caught:
        run.feed("}")
    error = caught.value
    assert error.path == ("pet",)
    assert error.raw == '{"kind": "dog", "name": 5}'
    assert error.errors[0]["loc"] == ("pet", "dog", "name")


# -- aliases -------------------------------------------------------------------------------------


class Profile(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    user_name: str = Field(alias="userName", description="The login.")
    years: Annotated[int, Field(alias="yearsActive", ge=0)]


def test_aliases_are_read_in_the_json_and_named_in_python() -> None:
    text = '{"userName": "zed", "yearsActive": 4}'
    run = stream(Profile, text, split=3)
    final = run.snapshots[-1]
    assert (final.user_name, final.years) == ("zed", 4)
    assert FieldCompleted(("user_name",), "zed") in run.events  # events use attribute names
    assert final.model_dump(by_alias=True) == {"userName": "zed", "yearsActive": 4}
    assert run.finish() == Profile(userName="zed", yearsActive=4)


def test_an_alias_error_gives_the_json_path() -> None:
    run = start(Profile)
    run.feed('{"userName": "zed", "yearsActive": -4')
    with pytest.raises(ResponseValidationError) as caught:
        run.feed("}")
    assert caught.value.path == ("yearsActive",)
    assert caught.value.errors[0]["loc"] == ("yearsActive",)
    assert caught.value.raw == "-4"


def test_the_partial_class_keeps_descriptions_and_aliases_but_no_constraints() -> None:
    cls = Partial[Profile]
    assert cls is Partial[Profile]
    assert cls.__name__ == "PartialProfile"
    assert cls.model_fields["user_name"].alias == "userName"
    assert cls.model_fields["user_name"].description == "The login."
    assert not cls.model_fields["years"].metadata  # ge=0 dropped
    partial = cls.model_validate({"yearsActive": -1})
    assert (partial.user_name, partial.years) == (None, -1)
    assert Partial[Partial[Profile]] is cls
    assert cls.__streamstruct_model__ is Profile


def test_partial_classes_nest_partials_and_keep_the_full_model() -> None:
    cls = Partial[Person]
    assert cls.model_validate({"address": {"city": "x"}}).address == Partial[Address](city="x")
    complete = cls.model_validate({"address": {"city": "x", "zip_code": "y"}})
    assert complete.address == Address(city="x", zip_code="y")
    with pytest.raises(TypeError):
        Partial()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Partial[int]  # type: ignore[type-var]


# -- early validation ------------------------------------------------------------------------------


class Checked(BaseModel):
    name: Annotated[str, Field(max_length=5)]
    age: Annotated[int, Field(ge=0)]
    bio: str


@pytest.mark.parametrize("split", SPLITS)
def test_a_constraint_violation_stops_at_the_first_completed_bad_field(split: int | str) -> None:
    text = '{"name": "Ann", "age": -5, "bio": "never reached"}'
    end_of_age = text.index("-5") + len("-5")  # the number ends at the next character
    run = start(Checked)
    pieces = chunks(text, split)
    fed = 0
    while fed + len(pieces[0]) <= end_of_age:  # up to the end of -5: no error, it may go on
        fed += len(run.feed_piece(pieces.pop(0)))
    with pytest.raises(ResponseValidationError) as caught:
        run.feed(pieces[0])  # the piece holding the ',' after -5
    error = caught.value
    assert error.path == ("age",)
    assert error.raw == "-5"
    assert error.errors[0]["type"] == "greater_than_equal"
    assert error.errors[0]["loc"] == ("age",)
    assert error.partial is not None
    assert error.partial.name == "Ann"
    assert error.text.startswith('{"name": "Ann", "age": -5')


def test_a_string_constraint_is_checked_at_the_closing_quote() -> None:
    run = start(Checked)
    run.feed('{"name": "Toolong')  # no error yet: the string may still be anything
    assert run.assembler.snapshot.name == "Toolong"  # type: ignore[union-attr]
    with pytest.raises(ResponseValidationError) as caught:
        run.feed('"')
    assert caught.value.raw == '"Toolong"'
    assert caught.value.errors[0]["type"] == "string_too_long"


class Validated(BaseModel):
    password: str
    confirm: str
    nickname: str = "anon"

    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    @field_validator("confirm")
    @classmethod
    def _same(cls, value: str, info: ValidationInfo) -> str:
        cls.calls.append((value, dict(info.data)))
        if value != info.data.get("password"):
            raise ValueError("passwords differ")
        return value

    @field_validator("nickname")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


def test_field_validators_run_when_their_field_completes() -> None:
    Validated.calls.clear()
    run = start(Validated)
    run.feed('{"password": "s3cret", "confirm": "s3cr')
    assert Validated.calls == []  # not on a prefix
    run.feed('et", "nickname": "bo')
    assert Validated.calls == [("s3cret", {"password": "s3cret"})]  # info.data as pydantic gives
    assert run.assembler.snapshot.nickname == "bo"  # type: ignore[union-attr]
    run.feed('b"}')
    assert FieldCompleted(("nickname",), "BOB") in run.events  # the validated value
    assert run.assembler.snapshot.nickname == "BOB"  # type: ignore[union-attr]
    assert run.finish().nickname == "BOB"


def test_a_field_validator_error_is_raised_on_completion() -> None:
    run = start(Validated)
    run.feed('{"password": "s3cret", "confirm": "oops')
    with pytest.raises(ResponseValidationError, match="passwords differ") as caught:
        run.feed('"')
    assert caught.value.path == ("confirm",)
    assert caught.value.raw == '"oops"'


def test_info_data_follows_declaration_order_whatever_the_json_order() -> None:
    """confirm reads info.data["password"]: written first, it waits for password to be validated."""
    Validated.calls.clear()
    run = start(Validated)
    run.feed('{"confirm": "s3cret", "nickname": "al", "password": "s3c')
    assert Validated.calls == []  # not validated on an incomplete info.data
    assert run.assembler.snapshot.confirm == "s3cret"  # type: ignore[union-attr]  # shown as written
    assert FieldCompleted(("nickname",), "AL") in run.events  # reads no info.data: not held back
    run.feed('ret"}')
    assert Validated.calls == [("s3cret", {"password": "s3cret"})]
    completed = [e.path for e in run.events if isinstance(e, FieldCompleted)]
    assert completed == [("nickname",), ("password",), ("confirm",)]
    assert run.finish() == Validated(password="s3cret", confirm="s3cret", nickname="AL")


def test_a_held_back_field_fails_when_what_it_waited_for_comes() -> None:
    run = start(Validated)
    run.feed('{"confirm": "oops", "password": "s3cret')
    with pytest.raises(ResponseValidationError, match="passwords differ") as caught:
        run.feed('"')
    assert caught.value.path == ("confirm",)
    assert caught.value.raw == '"oops"'


def test_a_held_back_field_is_validated_when_its_object_closes() -> None:
    seen: list[dict[str, Any]] = []

    class Form(BaseModel):
        first: str | None = None
        second: str

        @field_validator("second")
        @classmethod
        def _look(cls, value: str, info: ValidationInfo) -> str:
            seen.append(dict(info.data))
            return value

    class Outer(BaseModel):
        form: Form
        tail: int

    run = start(Outer)
    run.feed('{"form": {"second": "x"')
    assert seen == []  # "first" may still come
    run.feed("}")
    assert seen[0] == {"first": None}  # it did not: its default, as pydantic gives it...
    assert seen == [seen[0], seen[0]]  # ...when the whole Form is validated next
    completed = [e.path for e in run.events if isinstance(e, FieldCompleted)]
    assert completed == [("form", "second"), ("form",)]


class Range(BaseModel):
    low: int
    high: int
    after_calls: ClassVar[int] = 0

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        type(self).after_calls += 1
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


def test_model_validators_run_at_finish_only() -> None:
    Range.after_calls = 0
    run = stream(Range, '{"low": 5, "high": 1}')
    assert Range.after_calls == 0  # not on half an object, not even on the complete one
    assert progress(run.snapshots[-1]).percent == 100
    with pytest.raises(ResponseValidationError, match="low is above high") as caught:
        run.finish()
    assert caught.value.partial is run.snapshots[-1]
    assert caught.value.text == '{"low": 5, "high": 1}'
    assert caught.value.path == ()


class Holder(BaseModel):
    inner: Range


def test_a_nested_model_validator_runs_when_the_nested_object_closes() -> None:
    run = start(Holder)
    run.feed('{"inner": {"low": 5, "high": 1')
    with pytest.raises(ResponseValidationError, match="low is above high") as caught:
        run.feed("}")
    assert caught.value.path == ("inner",)
    assert caught.value.raw == '{"low": 5, "high": 1}'


def test_list_items_are_validated_as_they_close() -> None:
    class Bag(BaseModel):
        sizes: list[Annotated[int, Field(gt=0)]]

    run = start(Bag)
    run.feed('{"sizes": [3, 2, ')
    with pytest.raises(ResponseValidationError) as caught:
        run.feed("0, 5]}")
    assert caught.value.path == ("sizes", 2)
    assert caught.value.errors[0]["loc"] == ("sizes", 2)
    assert caught.value.raw == "0"


def test_a_wrong_type_is_reported_with_its_raw_text() -> None:
    run = start(User)
    run.feed('{"name": "A", "age": "twenty')
    with pytest.raises(ResponseValidationError) as caught:
        run.feed('"')
    assert caught.value.raw == '"twenty"'
    assert caught.value.errors[0]["type"] == "int_parsing"


def test_finish_reports_missing_fields() -> None:
    run = stream(User, '{"name": "A"}')
    with pytest.raises(ResponseValidationError) as caught:
        run.finish()
    assert {e["loc"] for e in caught.value.errors} == {("age",), ("bio",)}


def test_injected_nulls_are_dropped_when_asked() -> None:
    class Options(BaseModel):
        title: str
        retries: int = 3
        owner: str | None = None

    text = '{"title": "t", "retries": null, "owner": null}'
    run = stream(Options, text, drop_injected_nulls=True)
    last = run.snapshots[-1]
    assert "retries" not in last.model_fields_set  # absent: the default will apply
    assert last.owner is None
    assert "owner" in last.model_fields_set
    assert run.finish() == Options(title="t", retries=3)
    with pytest.raises(ResponseValidationError):
        stream(Options, text)  # without the option, null is no int


def test_the_assembler_takes_models_only() -> None:
    with pytest.raises(TypeError):
        PartialAssembler(dict)  # type: ignore[type-var]


def test_context_reaches_validators() -> None:
    class Scaled(BaseModel):
        value: int

        @field_validator("value")
        @classmethod
        def _scale(cls, value: int, info: ValidationInfo) -> int:
            return value * (info.context or {}).get("factor", 1)

    run = stream(Scaled, '{"value": 2}', context={"factor": 10})
    assert FieldCompleted(("value",), 20) in run.events
    assert run.finish() == Scaled(value=20)


def test_snapshots_dump_without_warnings() -> None:
    """``filterwarnings = error``: a snapshot holding complete nested models must dump cleanly."""
    run = stream(Person, PERSON_JSON, split=7)
    for snapshot in run.snapshots:
        snapshot.model_dump()
        snapshot.model_dump_json()


# -- typing -------------------------------------------------------------------------------------


def test_partial_type_checks_as_the_model(
    mypy_strict: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = mypy_strict("tests/typing/partial_usage.py")
    # --strict reports an unneeded "type: ignore": the one on p.nonexistent is needed.
    assert result.returncode == 0, result.stdout + result.stderr


# -- odds and ends -------------------------------------------------------------------------------


def test_unknown_keys_are_ignored_until_finish_decides() -> None:
    text = '{"extra": {"deep": [1, "x"]}, "name": "A", "age": 1, "bio": "b"}'
    run = stream(User, text)
    assert all("extra" not in s.model_dump() for s in run.snapshots)
    assert [e.path for e in run.events if isinstance(e, FieldCompleted)] == [
        ("name",),
        ("age",),
        ("bio",),
    ]
    assert run.finish() == User(name="A", age=1, bio="b")  # extra="ignore"


def test_any_tuples_and_alias_generators() -> None:
    from pydantic.alias_generators import to_camel

    class Shape(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel)

        meta_data: dict[str, Any]
        corner_point: tuple[int, str]

    text = '{"metaData": {"a": {"b": "cd"}}, "cornerPoint": [3, "x"]}'
    run = stream(Shape, text)
    metas = [s.meta_data for s in run.snapshots if s.meta_data is not None]
    assert {"a": {"b": "c"}} in metas  # Any shows what the parser shows
    corners = [s.corner_point for s in run.snapshots if s.corner_point is not None]
    assert corners[0] == ()
    assert (3,) in corners
    assert corners[-1] == (3, "x")
    assert Partial[Shape].model_fields["corner_point"].alias == "cornerPoint"
    assert run.finish() == Shape.model_validate_json(text)


def test_partial_works_as_a_runtime_annotation() -> None:
    import typing

    def handle(partial: Partial[User]) -> None:
        pass

    class Holder(BaseModel):
        last: Partial[User] | None = None

    assert typing.get_type_hints(handle)["partial"] is Partial[User]
    holder = Holder(last={"name": "x"})
    assert isinstance(holder.last, Partial[User])
    assert holder.last.age is None


# -- the growing-string shortcut ------------------------------------------------------------------


class Shelf(BaseModel):
    owner: Person
    words: list[str]
    pairs: tuple[str, str] | None = None


def _source_assembler() -> type[Any]:
    """The assembler's core from the source, which a test may patch (a compiled class cannot be)."""
    return python_source("_model._assembler").AssemblerCore  # type: ignore[no-any-return]


def _with_shortcuts(shortcuts: SnapshotShortcuts) -> Callable[..., PartialAssembler[Any]]:
    """A PartialAssembler factory (in place of the class) whose assemblers take only ``shortcuts``:
    the installed class (compiled, maybe), switched through its flags."""

    def make(model: type[Any], **options: Any) -> PartialAssembler[Any]:
        assembler = PartialAssembler(model, **options)
        assembler._core._shortcuts = shortcuts
        return assembler

    return make


#: Every shortcut off: the general path alone.
NO_SHORTCUTS = SnapshotShortcuts(**dict.fromkeys(SnapshotShortcuts._fields, False))
#: Each shortcut off alone, then all of them, by name: what a side-by-side test compares.
EACH_SHORTCUT_OFF = {
    **{name: SnapshotShortcuts(**{name: False}) for name in SnapshotShortcuts._fields},
    "all": NO_SHORTCUTS,
}


#: Off, these make each snapshot of a level a new object, so a piece that changes nothing visible
#: may still send a snapshot equal to the last one: their side-by-side tests compare the traces
#: with such repeats dropped (_without_repeats).
NEW_OBJECTS_WHEN_OFF = {"continued_levels", "all"}


def _without_repeats(trace: list[Any]) -> list[Any]:
    """``trace`` (per piece: piece, events, progress) without the snapshot events equal to the
    snapshot before them."""
    last: Any = None
    out: list[Any] = []
    for piece, events, shown in trace:
        kept = []
        for event in events:
            if event[0] == "snapshot":
                if event == last:
                    continue
                last = event
            kept.append(event)
        out.append((piece, kept, shown))
    return out


def _side_by_side(off: str, trace: Callable[[Callable[..., Any]], list[Any]]) -> None:
    """``trace`` of the installed assembler equals ``trace`` of one with ``off`` switched off."""
    with_shortcuts = trace(PartialAssembler)
    without = trace(_with_shortcuts(EACH_SHORTCUT_OFF[off]))
    if off in NEW_OBJECTS_WHEN_OFF:
        with_shortcuts, without = _without_repeats(with_shortcuts), _without_repeats(without)
    assert with_shortcuts == without


def _general_path_only() -> Callable[..., PartialAssembler[Any]]:
    """A PartialAssembler factory with every shortcut turned off."""
    return _with_shortcuts(NO_SHORTCUTS)


def test_every_flag_switches_a_shortcut_off() -> None:
    # The side-by-side tests below take their list from SnapshotShortcuts: a flag is a field of it.
    assert all(ALL := SnapshotShortcuts())
    assert not any(NO_SHORTCUTS)
    assert set(EACH_SHORTCUT_OFF) == {*SnapshotShortcuts._fields, "all"}
    assert PartialAssembler(Shelf)._core._shortcuts == ALL


def _trace(
    text: str, cuts: list[int], assembler_class: Callable[..., Any] = PartialAssembler
) -> list[tuple[str, list[tuple[Any, ...]], Any]]:
    """Per piece: the piece, its events, and the last snapshot's progress (complete, streaming)."""
    run = start(Shelf, assembler_class=assembler_class)
    out: list[tuple[str, list[tuple[Any, ...]], Any]] = []
    i = 0
    for size in itertools.cycle(cuts):
        if i >= len(text):
            break
        piece = text[i : i + size]
        events = run.feed(piece)
        snapshot = run.assembler.snapshot
        shown = None if snapshot is None else progress(snapshot)
        out.append(
            (piece, simple(events), None if shown is None else (shown.complete, shown.streaming))
        )
        i += size
    assert run.finish() == Shelf.model_validate_json(text)
    return out


_words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


@pytest.mark.parametrize("off", list(EACH_SHORTCUT_OFF))
@settings(max_examples=30, deadline=None)
@given(
    name=_words,
    city=_words,
    labels=st.lists(_words, max_size=4),
    notes=st.dictionaries(_words, _words, max_size=3),
    words=st.lists(_words, max_size=4),
    pairs=st.none() | st.tuples(_words, _words),
    ascii_only=st.booleans(),
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=20),
)
def test_the_shortcuts_change_nothing_that_is_seen(
    off: str,
    name: str,
    city: str,
    labels: list[str],
    notes: dict[str, str],
    words: list[str],
    pairs: tuple[str, str] | None,
    ascii_only: bool,
    cuts: list[int],
) -> None:
    """Events, snapshots and progress are the same with every shortcut (a string that only grew is
    shown from the last snapshot's memos, ...) as with it switched off (``off``: one of them, or
    all: the general path alone), on any split."""
    value = {
        "owner": {
            "name": name,
            "address": {"city": city, "zip_code": "75001"},
            "tags": [{"label": label, "weight": k} for k, label in enumerate(labels)],
            "scores": {"a": 1},
            "notes": notes,
        },
        "words": words,
        "pairs": pairs,
    }
    text = json.dumps(value, ensure_ascii=ascii_only)
    # The assembler as installed (compiled, maybe) against itself with a shortcut off.
    _side_by_side(off, lambda assembler_class: _trace(text, cuts, assembler_class))


@settings(max_examples=60, deadline=None)
@given(
    name=_words,
    labels=st.lists(_words, max_size=4),
    notes=st.dictionaries(_words, _words, max_size=3),
    words=st.lists(_words, max_size=4),
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=20),
    switch=st.integers(min_value=0, max_value=200),
)
def test_field_events_off_change_no_snapshot_and_on_again_continue_the_stream(
    name: str,
    labels: list[str],
    notes: dict[str, str],
    words: list[str],
    cuts: list[int],
    switch: int,
) -> None:
    """Without field events the snapshots are the very same; turned on at any piece, the events
    from there are those a run that always had them gives from there."""
    value = {
        "owner": {
            "name": name,
            "address": {"city": "Paris", "zip_code": "75001"},
            "tags": [{"label": label, "weight": k} for k, label in enumerate(labels)],
            "scores": {"a": 1},
            "notes": notes,
        },
        "words": words,
        "pairs": None,
    }
    text = json.dumps(value)
    pieces, i = [], 0
    for size in itertools.cycle(cuts):
        if i >= len(text):
            break
        pieces.append(text[i : i + size])
        i += size
    always, never, later = (start(Shelf), start(Shelf, field_events=False), start(Shelf))
    later.assembler.field_events = False
    for step, piece in enumerate(pieces):
        if step == switch:
            later.assembler.field_events = True
        on, off, switched = always.feed(piece), never.feed(piece), later.feed(piece)
        assert all(isinstance(event, SnapshotEvent) for event in off)
        assert simple(off) == [entry for entry in simple(on) if entry[0] == "snapshot"]
        if step >= switch:
            assert simple(switched) == simple(on)
    assert not never.assembler.field_events
    assert never.finish() == always.finish() == Shelf.model_validate_json(text)


class _WithDefaults(BaseModel):
    name: str
    nick: str = "none"  # a strict schema makes it nullable: its null means "absent"
    tags: list[str] = []
    size: int = 0


class _Outer(BaseModel):
    inner: _WithDefaults
    more: list[_WithDefaults] = []


@pytest.mark.parametrize("off", list(EACH_SHORTCUT_OFF))
@pytest.mark.parametrize("split", [1, 2, 3, 5])
def test_the_shortcuts_agree_with_the_general_path_when_nulls_are_dropped(
    split: int, off: str
) -> None:
    # A dropped null completes a member and changes nothing visible: no snapshot for it.
    inner = '{"name": "Al", "nick": null, "tags": ["x", "y"], "size": null}'
    text = f'{{"inner": {inner}, "more": [{inner}, {inner}]}}'

    def trace(assembler_class: Callable[..., Any]) -> list[Any]:
        run = start(_Outer, assembler_class=assembler_class, drop_injected_nulls=True)
        steps = [(piece, simple(run.feed(piece)), None) for piece in chunks(text, split)]
        return [*steps, ("", [], run.finish())]

    _side_by_side(off, trace)


class _Author(BaseModel):
    name: str
    nick: str = ""


class _Thread(BaseModel):
    title: str
    owner: _Author | None = None
    messages: list[dict[str, str]]


@pytest.mark.parametrize("off", list(EACH_SHORTCUT_OFF))
@pytest.mark.parametrize("split", [1, 2, 3, 7])
def test_a_key_given_twice_shows_its_last_value_as_the_general_path_does(
    split: int, off: str
) -> None:
    # json.loads and pydantic take the last value of a repeated key; the parser replaces the
    # value in place, which the memos' checks (sizes, the last member consumed) cannot see: the
    # snapshots kept showing "t" until the final one.
    text = (
        '{"title": "t", "messages": [{"content": "dup", "content": "last"}], "title": "t2",'
        ' "owner": {"name": "Al", "nick": "a", "name": "Bo"}, "messages": [{"content": "x"}]}'
    )

    def trace(assembler_class: Callable[..., Any]) -> list[Any]:
        run = start(_Thread, assembler_class=assembler_class)
        steps = [(piece, simple(run.feed(piece)), None) for piece in chunks(text, split)]
        return [*steps, ("", [], run.finish())]

    _side_by_side(off, trace)
    run = stream(_Thread, text, split)
    last = run.snapshots[-1]  # streamed, before the final snapshot
    assert (last.title, last.owner.name, last.messages) == ("t2", "Bo", [{"content": "x"}])
    assert run.finish() == _Thread.model_validate_json(text)


def test_the_open_container_shortcut_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # When a value of the container being written completes, or a string begins in it, the
    # snapshot is built from that container up (the lockstep test above checks it is the same).
    taken: list[tuple[Path, Path | None]] = []
    assembler_class = _source_assembler()
    rebuild_from = assembler_class._rebuild_from

    def spy(self: Any, parser: JSONParser, container: Any, current: Any, events: Any) -> Any:
        result = rebuild_from(self, parser, container, current, events)
        if result[0]:
            taken.append((container.path, None if current is None else current[1]))
        return result

    monkeypatch.setattr(assembler_class, "_rebuild_from", spy)
    text = '{"owner": {"name": "Al", "address": {"city": "Oslo", "zip_code": "1"}, "tags": [],'
    text += ' "scores": {"a": 1, "b": 2}, "notes": {"x": "y"}}, "words": ["p", "q", "r"]}'
    run = stream(Shelf, text, 1, assembler_class=assembler_class)
    assert (("owner", "address"), "") in taken  # zip_code begins after city completed
    assert (("owner", "scores"), None) in taken  # "a": 1 completes, nothing open
    assert (("words",), "") in taken  # "q" begins after "p"
    assert run.finish() == Shelf.model_validate_json(text)


def test_the_shortcut_is_taken_while_a_string_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    assembler_class = _source_assembler()
    grow = assembler_class._grow

    def spy(self: Any, parser: JSONParser, growing: Any) -> Any:
        result = grow(self, parser, growing)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(assembler_class, "_grow", spy)
    run = stream(
        User,
        '{"name": "Alice Liddell", "age": 7, "bio": "Down the rabbit hole"}',
        2,
        assembler_class=assembler_class,
    )
    assert sum(taken) >= 12  # most pieces inside the two strings
    assert run.snapshots[-1].bio == "Down the rabbit hole"
    texts = [e.text for e in run.events if isinstance(e, TextAppended) and e.path == ("bio",)]
    assert "".join(texts) == "Down the rabbit hole"


@pytest.mark.parametrize("depth", [0, 1])
def test_the_shortcut_knows_one_string_from_the_next_when_completions_are_not_reported(
    depth: int,
) -> None:
    # A parser that reports fewer completions (a smaller completion_depth) says nothing when the
    # name closes and the bio opens: the shortcut must see that it is another string.
    fed: list[str] = []
    run = Run(PartialAssembler(User, text=lambda: "".join(fed)), JSONParser(completion_depth=depth))
    run.feed('{"name": "Al')
    run.feed('ice", "age": 3, "bio": "Do')
    run.feed("wn")
    snapshot = run.assembler.snapshot
    assert snapshot is not None
    assert (snapshot.name, snapshot.age, snapshot.bio) == ("Alice", 3, "Down")


class Aliased(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    # Each field's alias is the other's name: model_construct reads keys as aliases first.
    first: str = Field(alias="second")
    second: int = Field(default=0, alias="first")
    tags: list[str] = []


@pytest.mark.parametrize(
    ("model", "members"),
    [
        (Person, {}),
        (Person, {"name": "Bob", "tags": []}),
        (Address, {"city": "Paris", "zip_code": "1"}),
        (Aliased, {"tags": ["x"]}),
    ],
)
def test_snapshot_objects_are_what_model_construct_makes(
    model: type[BaseModel], members: dict[str, Any]
) -> None:
    from streamstruct._model._memo import snapshot_object
    from streamstruct._model._partial import _partial_class, _SnapshotInfo

    cls = _partial_class(model)
    info = _SnapshotInfo((), False)
    made = snapshot_object(cls, members, info)
    reference = cls.model_construct(**members)
    assert type(made) is cls
    assert made.__dict__ == reference.__dict__
    assert list(made.__dict__) == list(cls.model_fields)  # in field order, as model_dump shows
    assert made.model_fields_set == reference.model_fields_set == set(members)
    assert made.__pydantic_extra__ == reference.__pydantic_extra__
    assert made.model_dump() == reference.model_dump()
    assert made.__pydantic_private__ == {"_streamstruct_snapshot": info}
    assert made == made.model_copy()
    with pytest.raises(ValueError, match="frozen"):
        made.tags = None  # type: ignore[attr-defined]


def test_a_snapshot_object_with_its_open_member_is_the_same_object() -> None:
    from streamstruct._model._memo import snapshot_object
    from streamstruct._model._partial import _partial_class, _SnapshotInfo

    cls = _partial_class(Person)
    info = _SnapshotInfo(("tags",), False)
    stable = {"name": "Bob"}
    made = snapshot_object(cls, stable, info, "tags", ["a"])
    whole = snapshot_object(cls, {"name": "Bob", "tags": ["a"]}, info)
    assert made.__dict__ == whole.__dict__
    assert list(made.__dict__) == list(cls.model_fields)
    assert made.model_fields_set == whole.model_fields_set == {"name", "tags"}
    assert stable == {"name": "Bob"}  # the members given are not changed


def test_fields_whose_aliases_are_each_others_names_keep_their_values() -> None:
    run = stream(Aliased, '{"second": "text", "first": 5, "tags": ["a", "b"]}', 3)
    final = run.snapshots[-1]
    assert (final.first, final.second, final.tags) == ("text", 5, ["a", "b"])


def test_a_validation_error_is_caused_by_pydantics() -> None:
    # Both ways a value fails - on its own as it closes, and the whole model at the end - keep
    # pydantic's ValidationError as the cause, compiled or not (mypyc drops a `from` clause).
    with pytest.raises(ResponseValidationError) as caught:
        stream(User, '{"name": "Alice", "age": "xy", "bio": ""}')
    assert isinstance(caught.value.__cause__, ValidationError)
    assert caught.value.__suppress_context__

    class Checked(BaseModel):
        low: int
        high: int

        @model_validator(mode="after")
        def ordered(self) -> Checked:
            if self.low > self.high:
                raise ValueError("low above high")
            return self

    run = stream(Checked, '{"low": 2, "high": 1}')
    with pytest.raises(ResponseValidationError) as caught:
        run.finish()
    assert isinstance(caught.value.__cause__, ValidationError)
