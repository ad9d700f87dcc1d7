"""Two fixes of issue 16: ``progress()`` reaches 1.0 exactly when the object is complete, and a
union being written is shown only once its member can be told.

Sans-I/O, on every split of the input (one character at a time, a few, at random points, whole).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field
from shared_support import chunks

from streamstruct import JSONParser, Partial, PartialAssembler, SnapshotEvent, progress

SPLITS: list[int | str] = [1, 2, 3, 7, "random-1", "random-2", 10_000]


def snapshots(model: type[BaseModel], document: Any, split: int | str) -> list[Any]:
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    shown: list[Any] = []
    for piece in chunks(json.dumps(document), split):
        parser.feed(piece)
        shown.extend(e.partial for e in assembler.advance(parser) if isinstance(e, SnapshotEvent))
    final = assembler.finish(parser.close())
    last = assembler.final_snapshot(final)
    if last is not None:
        shown.append(last.partial)
    return shown


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    address: Address


class Box(BaseModel):
    label: str
    inner: Person


class Note(BaseModel):
    text: str


CASES: list[tuple[type[BaseModel], Any]] = [
    (Note, {"text": "a top-level string"}),
    (Person, {"name": "Ann", "address": {"street": "Main", "city": "Oslo"}}),
    (Box, {"label": "x", "inner": {"name": "Bo", "address": {"street": "S", "city": "C"}}}),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("model", "document"), CASES, ids=["string", "nested", "deeper"])
def test_progress_is_one_exactly_when_complete(
    model: type[BaseModel], document: Any, split: int | str
) -> None:
    shown = snapshots(model, document, split)
    assert shown[-1].model_dump() == document
    assert progress(shown[-1]).fraction == 1.0
    assert progress(shown[-1]).percent == 100
    for snapshot in shown[:-1]:
        assert progress(snapshot).fraction < 1.0, snapshot
        assert progress(snapshot).percent < 100


def test_every_field_written_but_the_brace_is_99_percent() -> None:
    assembler = PartialAssembler(Note)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    parser.feed('{"text": "done"')
    assembler.advance(parser)
    assert assembler.snapshot is not None
    assert progress(assembler.snapshot).percent == 99
    parser.feed("}")
    events = assembler.advance(parser)
    # closing the object is a change worth a snapshot: it is complete now
    assert [progress(e.partial).fraction for e in events if isinstance(e, SnapshotEvent)] == [1.0]


def test_a_nested_model_with_every_field_but_its_brace() -> None:
    assembler = PartialAssembler(Person)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    parser.feed('{"name": "Ann", "address": {"street": "Main", "city": "Oslo"')
    assembler.advance(parser)
    snapshot = assembler.snapshot
    assert snapshot is not None
    assert progress(snapshot).fraction < 1.0
    assert progress(snapshot.address).fraction < 1.0


class Cat(BaseModel):
    name: str
    meows: int


class Dog(BaseModel):
    name: str
    barks: bool


class Pets(BaseModel):
    pets: list[Cat | Dog]


class TaggedCat(BaseModel):
    kind: Literal["cat"]
    name: str


class TaggedDog(BaseModel):
    kind: Literal["dog"]
    name: str


class Tagged(BaseModel):
    pets: list[Annotated[TaggedCat | TaggedDog, Field(discriminator="kind")]]


@pytest.mark.parametrize("split", SPLITS)
def test_an_untagged_union_is_shown_once_its_member_can_be_told(split: int | str) -> None:
    # "name" is in both members: the dog is shown only once "barks" tells it is one.
    shown = snapshots(Pets, {"pets": [{"name": "Rex", "barks": True}]}, split)
    for snapshot in shown:
        for pet in snapshot.pets or []:
            assert not isinstance(pet, Cat | Partial[Cat]), snapshot
            assert pet.barks is not None or isinstance(pet, Partial[Dog])
    assert shown[-1].pets == [Dog(name="Rex", barks=True)]


@pytest.mark.parametrize("split", SPLITS)
def test_a_tagged_union_is_shown_once_its_tag_is_complete(split: int | str) -> None:
    shown = snapshots(Tagged, {"pets": [{"name": "Rex", "kind": "dog"}]}, split)
    for snapshot in shown:
        for pet in snapshot.pets or []:
            assert isinstance(pet, TaggedDog | Partial[TaggedDog]), snapshot
            assert pet.kind == "dog"
    assert shown[-1].pets == [TaggedDog(kind="dog", name="Rex")]


def test_a_member_told_by_its_keys_grows() -> None:
    shown = snapshots(Pets, {"pets": [{"barks": False, "name": "Rexford"}]}, 1)
    names = [s.pets[0].name for s in shown if s.pets]
    assert "Rex" in names  # told by "barks", shown as a dog while its name is written
