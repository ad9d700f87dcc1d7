"""Iterable[M]: items validated and handed over the moment their JSON closes, through the real parser."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator
from shared_support import User, chunks

from streamstruct import ResponseValidationError
from streamstruct._core._json import JSONParser
from streamstruct._model._iterable import (
    ItemsAssembler,
    items_json_schema,
    items_wrapper_model,
    iterable_item_type,
)


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    name: str


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


SPLITS: list[int | str] = [*range(1, 11), "random-1", "random-2"]


def wrapper(items: list[str]) -> tuple[str, list[int]]:
    """The ``{"items": [...]}`` text of these item texts, and the offset of each item's last char."""
    text = '{"items": ['
    ends = []
    for i, item in enumerate(items):
        if i:
            text += ", "
        text += item
        ends.append(len(text) - 1)
    return text + "]}", ends


def run(item_type: Any, text: str, split: int | str = 1, **options: Any) -> list[tuple[int, Any]]:
    """Feed ``text``; return (offset of the last character fed, item) for each item handed over."""
    fed: list[str] = []
    assembler = ItemsAssembler(item_type, text=lambda: "".join(fed), **options)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    out: list[tuple[int, Any]] = []
    for piece in chunks(text, split):
        fed.append(piece)
        parser.feed(piece)
        offset = sum(map(len, fed)) - 1
        out.extend((offset, item) for item in assembler.advance(parser))
    assert assembler.finish(parser.close()) == [item for _, item in out]
    return out


TRICKY = [
    json.dumps({"name": 'Ann says "} ] {" and \\ back', "age": 30}),
    json.dumps({"name": "Bob [with] {braces}", "age": 41}),
    json.dumps({"name": "\u00e9\u4e2d\U0001f600 \\u0022", "age": 5}),
]


def test_each_item_is_handed_over_exactly_at_its_closing_brace() -> None:
    text, ends = wrapper(TRICKY)
    out = run(User, text, split=1)
    assert [offset for offset, _ in out] == ends  # not a character before, not one after
    assert [item for _, item in out] == [User.model_validate_json(t) for t in TRICKY]


@pytest.mark.parametrize("split", SPLITS)
def test_items_are_the_same_on_every_split(split: int | str) -> None:
    text, ends = wrapper(TRICKY)
    out = run(User, text, split)
    assert [item for _, item in out] == [User.model_validate_json(t) for t in TRICKY]
    for (offset, _), end in zip(out, ends, strict=True):
        assert end <= offset < end + 10  # in the piece that brought the closing brace


def test_strings_that_look_like_json_never_end_an_item() -> None:
    tricky = json.dumps({"name": '"}, {"name": "fake", "age": 1}, ', "age": 2})
    text, ends = wrapper([tricky])
    out = run(User, text)
    assert len(out) == 1
    assert out[0][0] == ends[0]
    assert out[0][1].name.startswith('"}, {"name"')


def test_a_union_of_models_with_a_discriminator() -> None:
    items = [
        json.dumps({"kind": "dog", "name": "Rex"}),
        json.dumps({"kind": "cat", "lives": 9}),
        json.dumps({"lives": 3, "kind": "cat"}),
    ]
    text, ends = wrapper(items)
    out = run(Pet, text)
    assert [type(item) for _, item in out] == [Dog, Cat, Cat]
    assert [offset for offset, _ in out] == ends


def test_a_plain_union_of_models() -> None:
    text, _ = wrapper(
        [json.dumps({"kind": "cat", "lives": 1}), json.dumps({"kind": "dog", "name": "x"})]
    )
    out = run(Cat | Dog, text)
    assert [type(item) for _, item in out] == [Cat, Dog]


def test_an_invalid_item_carries_its_index_and_raw_text() -> None:
    bad = '{"name": "Eve", "age": "old"}'
    text, ends = wrapper([TRICKY[0], bad, TRICKY[1]])
    fed: list[str] = []
    assembler = ItemsAssembler(User, text=lambda: "".join(fed))
    parser = JSONParser(completion_depth=assembler.completion_depth)
    for char in text[: ends[1]]:
        fed.append(char)
        parser.feed(char)
        assembler.advance(parser)  # no error before the bad item closes
    fed.append(text[ends[1]])
    parser.feed(text[ends[1]])
    with pytest.raises(ResponseValidationError) as caught:
        assembler.advance(parser)
    error = caught.value
    assert error.index == 1
    assert error.raw == bad
    assert error.path == ("items", 1)
    assert error.errors[0]["loc"] == ("items", 1, "age")
    assert error.partial == [User.model_validate_json(TRICKY[0])]  # what was handed over
    assert error.text == text[: ends[1] + 1]


def test_an_invalid_union_item() -> None:
    text, _ = wrapper(['{"kind": "bird"}'])
    with pytest.raises(ResponseValidationError) as caught:
        run(Pet, text)
    assert caught.value.index == 0
    assert caught.value.raw == '{"kind": "bird"}'


def test_item_validators_run_per_item() -> None:
    seen: list[str] = []

    class Named(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def _record(cls, value: str) -> str:
            seen.append(value)
            return value.title()

    text, _ = wrapper(['{"name": "ann"}', '{"name": "bob"}'])
    out = run(Named, text)
    assert seen == ["ann", "bob"]
    assert [item.name for _, item in out] == ["Ann", "Bob"]


def test_tool_call_values_are_added_one_by_one() -> None:
    assembler = ItemsAssembler(Pet)
    first = assembler.add({"kind": "dog", "name": "Rex"})
    assert first == Dog(kind="dog", name="Rex")
    with pytest.raises(ResponseValidationError) as caught:
        assembler.add({"kind": "cat", "lives": "many"}, raw='{"kind": "cat", "lives": "many"}')
    assert caught.value.index == 1
    assert caught.value.raw == '{"kind": "cat", "lives": "many"}'
    assert caught.value.partial == [first]
    assert assembler.items == [first]


def test_a_bare_array_is_taken_too() -> None:
    out = run(User, "[" + ", ".join(TRICKY) + "]")
    assert len(out) == 3


def test_finish_rejects_what_is_not_the_wrapper() -> None:
    assembler = ItemsAssembler(User, text=lambda: '{"users": []}')
    parser = JSONParser(completion_depth=assembler.completion_depth)
    parser.feed('{"users": []}')
    assert assembler.advance(parser) == []
    with pytest.raises(ResponseValidationError) as caught:
        assembler.finish(parser.close())
    assert caught.value.errors[0]["loc"] == ("items",)


def test_an_empty_list() -> None:
    assert run(User, '{"items": []}') == []


def test_injected_nulls_are_dropped_when_asked() -> None:
    class Task(BaseModel):
        title: str
        priority: int = 0

    text, _ = wrapper(['{"title": "a", "priority": null}'])
    out = run(Task, text, drop_injected_nulls=True)
    assert out[0][1] == Task(title="a")
    with pytest.raises(ResponseValidationError):
        run(Task, text)


def test_wrapper_model_and_schema() -> None:
    model = items_wrapper_model(User)
    assert model is items_wrapper_model(User)  # built once
    assert model.__name__ == "UserItems"
    assert model.model_validate({"items": [{"name": "a", "age": 1}]}).items == [  # type: ignore[attr-defined]
        User(name="a", age=1)
    ]
    with pytest.raises(ValidationError):
        model.model_validate({"items": [{"name": "a"}]})
    schema = items_json_schema(User)
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"]["type"] == "array"
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/User"}
    assert "User" in schema["$defs"]
    pets = items_json_schema(Pet)
    assert items_wrapper_model(Pet).__name__ == "CatOrDogItems"
    assert pets["properties"]["items"]["items"]["discriminator"]["propertyName"] == "kind"
    assert items_wrapper_model(User, name="Users").__name__ == "Users"


def test_iterable_item_type() -> None:
    assert iterable_item_type(Iterable[User]) is User
    assert iterable_item_type(Iterable[Pet]) == Pet
    assert iterable_item_type(list[User]) is None
    assert iterable_item_type(User) is None


def test_the_text_is_read_only_for_an_error() -> None:
    # Joining the whole text to slice out each item's JSON made a long list quadratic: the text
    # is only asked for when an item fails (for its raw JSON and the error's text).
    items = [json.dumps({"name": f"user {i}", "age": i}) for i in range(50)]
    text, ends = wrapper([*items, '{"name": "Eve", "age": "old"}'])
    fed: list[str] = []
    asked = 0

    def so_far() -> str:
        nonlocal asked
        asked += 1
        return "".join(fed)

    assembler = ItemsAssembler(User, text=so_far)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    pieces = [*chunks(text[: ends[-1]], 3), text[ends[-1]]]  # the last closes the bad item
    for piece in pieces[:-1]:
        fed.append(piece)
        parser.feed(piece)
        assembler.advance(parser)
    assert len(assembler.items) == 50
    assert asked == 0
    fed.append(pieces[-1])
    parser.feed(pieces[-1])
    with pytest.raises(ResponseValidationError) as caught:
        assembler.advance(parser)
    assert asked == 1
    assert caught.value.raw == '{"name": "Eve", "age": "old"}'
    assert caught.value.index == 50
