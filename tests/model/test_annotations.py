"""Streaming annotations (issue 16, part 2): the markers and where a model carries them."""

from __future__ import annotations

import pickle
import typing
from typing import Annotated, Any, Literal, Optional, TypeVar

import pytest
from pydantic import BaseModel, Field
from shared_support import chunks
from typing_extensions import TypeAliasType

from streamstruct import InvalidArgumentValueError, JSONParser, PartialAssembler
from streamstruct._model._annotations import (
    NO_ANNOTATIONS,
    Atomic,
    NotNull,
    stream_annotations,
)
from streamstruct._model._response_types import classify_response_model


class Plain(BaseModel):
    name: str
    tags: list[str]


class Address(BaseModel):
    street: str
    url: Annotated[str, Atomic]


class Message(BaseModel):
    role: Annotated[Literal["user", "assistant"], NotNull]
    text: str


class Cat(BaseModel):
    kind: Annotated[Literal["cat"], NotNull]
    lives: int


class Dog(BaseModel):
    kind: Annotated[Literal["dog"], NotNull]
    good: bool


class Chat(BaseModel):
    id: Annotated[str, Atomic, Field(min_length=1)]
    home: Annotated[Address, Atomic]
    addresses: list[Annotated[Address, Atomic]]
    by_name: dict[str, list[Annotated[str, Atomic]]]
    maybe: Optional[Annotated[str, Atomic]] = None  # noqa: UP045
    messages: list[Message]
    pet: Cat | Dog | None = None
    plain: Plain | None = None


class TreeNode(BaseModel):
    label: Annotated[str, Atomic]
    children: list[TreeNode] = []


def test_a_model_without_markers_costs_a_false_shared_answer() -> None:
    found = stream_annotations(Plain)
    assert found is NO_ANNOTATIONS
    assert not found
    assert found.of(Plain) is None


def test_markers_are_found_at_any_depth_with_their_positions() -> None:
    found = stream_annotations(Chat)
    assert found
    assert set(found.entries()) == {
        (Chat, "id", (), Atomic),
        (Chat, "home", (), Atomic),
        (Chat, "addresses", ("item",), Atomic),
        (Chat, "by_name", ("value", "item"), Atomic),
        (Chat, "maybe", (), Atomic),
        (Address, "url", (), Atomic),
        (Message, "role", (), NotNull),
        (Cat, "kind", (), NotNull),
        (Dog, "kind", (), NotNull),
    }
    chat = found.of(Chat)
    assert chat is not None
    assert chat.is_atomic("addresses", ("item",))
    assert not chat.is_atomic("addresses")
    assert not chat.is_atomic("messages", ("item",))
    assert chat.not_null == frozenset()
    message = found.of(Message)
    assert message is not None
    assert message.not_null == {"role"}
    assert found.of(Plain) is None  # reachable, unmarked: not listed


def test_a_recursive_model_is_read_once() -> None:
    found = stream_annotations(TreeNode)
    assert list(found.entries()) == [(TreeNode, "label", (), Atomic)]


def test_the_answer_is_computed_once_per_model() -> None:
    assert stream_annotations(Chat) is stream_annotations(Chat)


def test_json_keys_follow_aliases() -> None:
    class Aliased(BaseModel):
        user_id: Annotated[str, Atomic] = Field(alias="userId")
        kind: Annotated[str, NotNull] = Field(validation_alias="type")

    marks = stream_annotations(Aliased).of(Aliased)
    assert marks is not None
    assert marks.json_keys == {"user_id": "userId", "kind": "type"}


def test_markers_inside_type_aliases_and_wrapped_response_types_are_found() -> None:
    Urls = TypeAliasType("Urls", list[Annotated[str, Atomic]])

    class Page(BaseModel):
        urls: Urls

    assert list(stream_annotations(Page).entries()) == [(Page, "urls", ("item",), Atomic)]

    wrapper = classify_response_model(list[Annotated[Address, Atomic]]).model
    assert wrapper is not None
    assert set(stream_annotations(wrapper).entries()) == {
        (wrapper, "response", ("item",), Atomic),
        (Address, "url", (), Atomic),
    }


T = TypeVar("T")
K = TypeVar("K")
Listed = TypeAliasType("Listed", list[T], type_params=(T,))
Keyed = TypeAliasType("Keyed", dict[K, list[T]], type_params=(K, T))
Itself = TypeAliasType("Itself", T, type_params=(T,))


def test_markers_given_to_a_generic_alias_are_found() -> None:
    class Page(BaseModel):
        urls: Listed[Annotated[str, Atomic]]
        plain: Listed[str]
        index: Keyed[str, Annotated[Address, Atomic]]
        head: Itself[Annotated[str, Atomic]]

    assert set(stream_annotations(Page).entries()) == {
        (Page, "urls", ("item",), Atomic),
        (Page, "index", ("value", "item"), Atomic),
        (Page, "head", (), Atomic),
        (Address, "url", (), Atomic),
    }


Nested = TypeAliasType("Nested", Listed[list[T]], type_params=(T,))


def test_markers_given_to_an_alias_inside_an_alias_are_found_beside_another() -> None:
    # Nested[X] is read as Listed[list[X]], a substitution's own object: once read it was freed,
    # and the second Nested's list[X] could take its id and be taken for an alias read already.
    class Page(BaseModel):
        urls: Nested[Annotated[str, Atomic]] | Nested[int] | None

    assert set(stream_annotations(Page).entries()) == {
        (Page, "urls", ("item", "item"), Atomic),
    }


Described = TypeAliasType(
    "Described", Annotated[list[T], {"doc": "any metadata"}], type_params=(T,)
)


def test_a_generic_alias_whose_value_has_unhashable_metadata() -> None:
    # pydantic ignores metadata it does not know, so the model is fine; looking its value up
    # among the parameters hashed it.
    class Page(BaseModel):
        urls: Described[Annotated[str, Atomic]]

    assert set(stream_annotations(Page).entries()) == {(Page, "urls", ("item",), Atomic)}


#: The alias classes of this Python: typing_extensions' and, from 3.12, typing's (PEP 695's
#: ``type X = ...`` makes these), distinct classes before 3.15.
ALIAS_CLASSES = [
    TypeAliasType,
    *([typing.TypeAliasType] if hasattr(typing, "TypeAliasType") else []),
]


@pytest.mark.parametrize("alias_class", ALIAS_CLASSES, ids=lambda c: c.__module__)
def test_markers_inside_either_alias_class_are_found(alias_class: Any) -> None:
    plain = alias_class("Plain", list[Annotated[str, Atomic]])
    listed = alias_class("Listed", list[T], type_params=(T,))

    class Page(BaseModel):
        urls: plain
        names: listed[Annotated[str, Atomic]]

    assert set(stream_annotations(Page).entries()) == {
        (Page, "urls", ("item",), Atomic),
        (Page, "names", ("item",), Atomic),
    }


def test_a_generic_alias_streams_its_atomic_members_whole() -> None:
    class Page(BaseModel):
        urls: Listed[Annotated[str, Atomic]]

    assembler = PartialAssembler(Page)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    shown = []
    for piece in chunks('{"urls": ["https://a.example", "https://b.example"]}', 3):
        parser.feed(piece)
        assembler.advance(parser)
        if assembler.snapshot is not None and assembler.snapshot.urls is not None:
            shown.append(list(assembler.snapshot.urls))
    assert all(url.startswith("https://") and url.endswith(".example") for s in shown for url in s)
    assert shown[-1] == ["https://a.example", "https://b.example"]


def test_not_null_inside_a_type_is_refused_naming_the_field() -> None:
    class Wrong(BaseModel):
        roles: list[Annotated[str, NotNull]]

    with pytest.raises(InvalidArgumentValueError, match=r"Wrong\.roles.*\[\*\]") as caught:
        stream_annotations(Wrong)
    assert caught.value.argument == "response_model"


def test_markers_survive_pickling_and_do_not_change_validation() -> None:
    assert pickle.loads(pickle.dumps(Atomic)) is Atomic
    assert pickle.loads(pickle.dumps(NotNull)) is NotNull
    assert repr(Atomic) == "streamstruct.Atomic"
    message = Message.model_validate({"role": "user", "text": "hi"})
    assert pickle.loads(pickle.dumps(message)) == message
    assert Message.model_json_schema()["properties"]["role"] == {
        "enum": ["user", "assistant"],
        "title": "Role",
        "type": "string",
    }
