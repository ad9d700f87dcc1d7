"""Atomic and NotNull in the assembler's snapshots and field events (issue 16, part 2).

Sans-I/O: a JSON document fed to the parser in pieces (every split: one character at a time, a few
at a time, at random points, whole), the assembler's output checked against the promises: an
``Atomic`` value shows whole or not at all, an object with a ``NotNull`` field only once that field
has a value; field events inside a withheld value come with the snapshot that shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from shared_support import chunks, split_at
from withheld_support import view_trace

from streamstruct import (
    Atomic,
    FieldCompleted,
    FieldStarted,
    JSONParser,
    NotNull,
    Partial,
    PartialAssembler,
    ResponseValidationError,
    SnapshotEvent,
    TextAppended,
    progress,
)
from streamstruct._model._shortcuts import ALL_VIEW_SHORTCUTS, ViewShortcuts

SPLITS: list[int | str] = [1, 2, 3, 5, 8, "random-1", "random-2", "random-3", 10_000]


class Address(BaseModel):
    street: str
    city: str


class Message(BaseModel):
    role: Annotated[Literal["user", "assistant"], NotNull]
    text: str


class Chat(BaseModel):
    id: Annotated[str, Atomic]
    title: str
    home: Annotated[Address, Atomic]
    messages: list[Message]
    tags: list[Annotated[str, Atomic]]
    places: list[Annotated[Address, Atomic]]


CHAT = {
    "id": "chat-7f3a",
    "title": "Planning",
    "home": {"street": "1 Main St", "city": "Oslo"},
    "messages": [
        {"text": "where to?", "role": "user"},
        {"role": "assistant", "text": "Bergen"},
    ],
    "tags": ["travel", "norway"],
    "places": [{"street": "Bryggen", "city": "Bergen"}, {"street": "Torget", "city": "Oslo"}],
}


@dataclass
class Run:
    events: list[Any] = field(default_factory=list)
    final: Any = None

    @property
    def snapshots(self) -> list[Any]:
        return [e.partial for e in self.events if isinstance(e, SnapshotEvent)]


def stream(model: type[BaseModel], document: Any, split: int | str) -> Run:
    text = json.dumps(document)
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    run = Run()
    for piece in chunks(text, split):
        parser.feed(piece)
        run.events.extend(assembler.advance(parser))
    run.final = assembler.finish(parser.close())
    last = assembler.final_snapshot(run.final)
    if last is not None:
        run.events.append(last)
    return run


def value_at(snapshot: Any, path: tuple[str | int, ...]) -> Any:
    """The value a snapshot shows at ``path`` (None when it shows nothing there)."""
    value = snapshot
    for step in path:
        if isinstance(step, str):
            value = getattr(value, step, None)
        elif isinstance(value, list) and step < len(value):
            value = value[step]
        else:
            return None
        if value is None:
            return None
    return value


@pytest.mark.parametrize("split", SPLITS)
def test_atomic_values_show_whole_or_not_at_all(split: int | str) -> None:
    run = stream(Chat, CHAT, split)
    assert run.final == Chat.model_validate(CHAT)
    for snapshot in run.snapshots:
        assert snapshot.id in (None, "chat-7f3a")
        # a nested model: the validated Address, never a half-written PartialAddress
        assert snapshot.home is None or snapshot.home == Address(**CHAT["home"])
        assert all(tag in ("travel", "norway") for tag in snapshot.tags or [])
        assert all(type(place) is Address for place in snapshot.places or [])
    if split in (1, 2, 3):  # the title is not atomic: it grows
        assert any(s.title and s.title != "Planning" for s in run.snapshots)


@pytest.mark.parametrize("split", SPLITS)
def test_an_object_waits_for_its_not_null_field(split: int | str) -> None:
    run = stream(Chat, CHAT, split)
    shown = [m for s in run.snapshots for m in s.messages or []]
    assert all(message.role is not None for message in shown)
    if split == 1:
        # the first message's text came before its role: it appears whole, the second grows
        firsts = [s.messages[0] for s in run.snapshots if s.messages]
        assert firsts[0].text == "where to?"
        seconds = [s.messages[1].text for s in run.snapshots if s.messages and len(s.messages) > 1]
        assert seconds[0] is None
        assert "Berg" in seconds


@pytest.mark.parametrize("split", SPLITS)
def test_field_events_follow_the_snapshots(split: int | str) -> None:
    # What an event names, the next snapshot shows: an event inside a withheld value is held
    # back and sent with the snapshot that shows it; nothing is lost on the way.
    run = stream(Chat, CHAT, split)
    pending: list[Any] = []
    for event in run.events:
        if not isinstance(event, SnapshotEvent):
            pending.append(event)
            continue
        for held in pending:
            path = held.path
            for prefix in (("id",), ("home",), ("messages", 0), ("messages", 1), ("tags", 0)):
                if path[: len(prefix)] == prefix:
                    assert value_at(event.partial, prefix) is not None, (held, event.partial)
        pending = []
    appended = "".join(
        e.text for e in run.events if isinstance(e, TextAppended) and e.path == ("id",)
    )
    assert appended == "chat-7f3a"
    completed = [e.path for e in run.events if isinstance(e, FieldCompleted)]
    assert completed.index(("id",)) < completed.index(("title",))
    started = [e.path for e in run.events if isinstance(e, FieldStarted)]
    assert ("messages", 0, "text") in started


@pytest.mark.parametrize("split", SPLITS)
def test_every_split_shows_snapshots_of_the_one_character_run(split: int | str) -> None:
    every = {json.dumps(s.model_dump()) for s in stream(Chat, CHAT, 1).snapshots}
    run = stream(Chat, CHAT, split)
    assert {json.dumps(s.model_dump()) for s in run.snapshots} <= every
    assert run.snapshots[-1].model_dump() == run.final.model_dump()


class Comment(BaseModel):
    author: Annotated[str, NotNull]
    url: Annotated[str, Atomic]
    body: str


class Post(BaseModel):
    comments: list[Comment]
    links: dict[str, list[Annotated[str, Atomic]]]


class Thread(BaseModel):
    posts: list[Post]


THREAD = {
    "posts": [
        {
            "comments": [
                {"body": "first!", "url": "https://a.example/1", "author": "ann"},
                {"author": "bo", "url": "https://a.example/2", "body": "second"},
            ],
            "links": {"docs": ["https://d.example/x", "https://d.example/y"]},
        }
    ]
}


@pytest.mark.parametrize("split", SPLITS)
def test_any_depth(split: int | str) -> None:
    run = stream(Thread, THREAD, split)
    assert run.final == Thread.model_validate(THREAD)
    urls = {"https://a.example/1", "https://a.example/2"}
    links = {"https://d.example/x", "https://d.example/y"}
    for snapshot in run.snapshots:
        for post in snapshot.posts or []:
            for comment in post.comments or []:
                assert comment.author is not None
                assert comment.url is None or comment.url in urls
            for values in (post.links or {}).values():
                assert set(values) <= links
    bodies = [
        value_at(s, ("posts", 0, "comments", 1, "body"))
        for s in stream(Thread, THREAD, 1).snapshots
    ]
    assert "sec" in bodies  # the second comment's author came first: its body grows


class Cat(BaseModel):
    kind: Annotated[Literal["cat"], NotNull]
    name: str


class Dog(BaseModel):
    kind: Annotated[Literal["dog"], NotNull]
    name: str


class Pets(BaseModel):
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]]


@pytest.mark.parametrize("split", SPLITS)
def test_a_union_member_waits_for_its_discriminator(split: int | str) -> None:
    document = {"pets": [{"name": "Rex", "kind": "dog"}, {"kind": "cat", "name": "Tom"}]}
    run = stream(Pets, document, split)
    for snapshot in run.snapshots:
        for pet in snapshot.pets or []:
            assert pet.kind is not None
            assert not (isinstance(pet, Partial[Cat]) and pet.name == "Rex")
    assert run.final == Pets.model_validate(document)


def test_progress_counts_a_withheld_value_as_being_written() -> None:
    run = stream(Chat, CHAT, 1)
    first_title = next(s for s in run.snapshots if s.title is not None)
    assert first_title.id == "chat-7f3a"
    waiting = [s for s in run.snapshots if s.id is None and s.title is None]
    assert any(("id",) in progress(s).streaming for s in waiting)
    assert all(progress(s).fraction < 1.0 for s in run.snapshots[:-1])
    assert progress(run.snapshots[-1]).fraction == 1.0


def test_a_model_without_markers_pays_nothing() -> None:
    class Plain(BaseModel):
        name: str

    assert PartialAssembler(Plain)._core._view is None
    assert PartialAssembler(Chat)._core._view is not None


def test_the_errors_partial_is_the_snapshot_shown() -> None:
    class Strict(BaseModel):
        id: Annotated[str, Atomic]
        count: int = Field(ge=0)

    assembler = PartialAssembler(Strict)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    for char in '{"id": "abc", "count": -':
        parser.feed(char)
        assembler.advance(parser)
    parser.feed("1}")
    with pytest.raises(ResponseValidationError) as caught:
        assembler.advance(parser)
    assert caught.value.partial is not None
    assert caught.value.partial.id == "abc"
    other = PartialAssembler(Strict)
    parser = JSONParser(completion_depth=other.completion_depth)
    parser.feed('{"id": "ab')
    other.advance(parser)
    assert other.snapshot is not None
    assert other.snapshot.id is None


# -- the view's shortcuts: each gives exactly what the plain view gives --------------------------

#: Every view shortcut off: the plain view, the reference.
NO_VIEW_SHORTCUTS = ViewShortcuts(**dict.fromkeys(ViewShortcuts._fields, False))

DOCUMENTS: dict[str, tuple[type[BaseModel], Any]] = {
    "chat": (Chat, CHAT),
    "thread": (Thread, THREAD),
    "pets": (Pets, {"pets": [{"name": "Rex", "kind": "dog"}, {"kind": "cat", "name": "Tom"}]}),
}


def test_every_view_flag_switches_a_shortcut_off() -> None:
    assert all(ALL_VIEW_SHORTCUTS)
    assert not any(NO_VIEW_SHORTCUTS)
    view = PartialAssembler(Chat)._core._view
    assert view is not None
    assert view._class_table


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("split", SPLITS)
def test_the_view_shortcuts_give_what_the_plain_view_gives(name: str, split: int | str) -> None:
    model, document = DOCUMENTS[name]
    pieces = chunks(json.dumps(document), split)
    expected = view_trace(model, pieces, NO_VIEW_SHORTCUTS)
    assert view_trace(model, pieces, ALL_VIEW_SHORTCUTS) == expected
    assert any(isinstance(event, tuple) for events in expected[:-1] for event in events)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(DOCUMENTS)),
    points=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
)
def test_the_view_shortcuts_on_any_split(name: str, points: list[int]) -> None:
    model, document = DOCUMENTS[name]
    text = json.dumps(document)
    pieces = split_at(text, [point % (len(text) + 1) for point in points])
    expected = view_trace(model, pieces, NO_VIEW_SHORTCUTS)
    assert view_trace(model, pieces, ALL_VIEW_SHORTCUTS) == expected
