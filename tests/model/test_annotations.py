"""Streaming annotations (issue 16, part 2): the markers and where a model carries them."""

from __future__ import annotations

import pickle
from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from streamstruct import InvalidArgumentValueError
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
