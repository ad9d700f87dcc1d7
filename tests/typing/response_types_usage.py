"""Checked by mypy (tests/io/test_client_response_types.py::test_the_calls_type_any_response_type), not run.

What the overloads of ``create_partial`` and ``create`` type for a response type that is not a
model, as far as mypy can tell: a class (``list[User]``, ``int``, a dataclass, an ``Enum``, a
``TypedDict``) types the stream and the final value; a special form (``Literal[...]``,
``Optional[User]``, ``Cat | Dog``) is not a ``type`` to mypy, so those give ``Any``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, Optional

from pydantic import BaseModel
from typing_extensions import TypedDict, assert_type

import streamstruct

MESSAGES = [{"role": "user", "content": "hi"}]


class User(BaseModel):
    name: str


class Pair(TypedDict):
    left: int
    right: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Colour(enum.Enum):
    RED = "red"


async def asynchronous(client: streamstruct.AsyncClient) -> None:
    chat = client.chat.completions
    users = chat.create_partial(model="m", response_model=list[User], messages=MESSAGES)
    assert_type(users, streamstruct.AsyncPartialStream[list[User]])
    assert_type(await users.get_final(), list[User])
    async for snapshot in users:
        assert_type(snapshot[0].name, str)  # Partial[list[User]] is list[User] to mypy
    assert_type(await chat.create(model="m", response_model=int, messages=MESSAGES), int)
    assert_type(await chat.create(model="m", response_model=Point, messages=MESSAGES), Point)
    assert_type(await chat.create(model="m", response_model=Colour, messages=MESSAGES), Colour)
    assert_type(await chat.create(model="m", response_model=User, messages=MESSAGES), User)
    maybe = chat.create_partial(model="m", response_model=Optional[User], messages=MESSAGES)  # noqa: UP045
    assert_type(maybe, streamstruct.AsyncPartialStream[Any])
    letter = await chat.create(model="m", response_model=Literal["a", "b"], messages=MESSAGES)
    assert_type(letter, Any)


def synchronous(client: streamstruct.Client) -> None:
    chat = client.chat.completions
    words = chat.create_partial(model="m", response_model=str, messages=MESSAGES)
    assert_type(words, streamstruct.PartialStream[str])
    assert_type(words.get_final(), str)
    assert_type(
        chat.create(model="m", response_model=dict[str, User], messages=MESSAGES), dict[str, User]
    )
    assert_type(chat.create(model="m", response_model=User, messages=MESSAGES), User)
    assert_type(chat.create(model="m", response_model=Pair, messages=MESSAGES), Pair)
