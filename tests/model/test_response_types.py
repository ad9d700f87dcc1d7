"""Any response type (issue 16, part 3): classify, wrap, unwrap; checked against pydantic's TypeAdapter."""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import itertools
import json
import pickle
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field, RootModel, TypeAdapter, ValidationError
from shared_support import User
from typing_extensions import TypedDict

from streamstruct import (
    Atomic,
    InvalidArgumentTypeError,
    JSONParser,
    NotNull,
    PartialAssembler,
    SnapshotEvent,
    StreamStructError,
    UnsupportedResponseModelError,
)
from streamstruct._model._partial import Partial
from streamstruct._model._response_types import (
    WRAPPER_FIELD,
    classify_response_model,
    wrapper_model,
)

# Partial[M] is M to a type checker; the tests need the runtime class.
PartialOf: Any = Partial


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class Box:
    width: int
    label: str


class Tree(BaseModel):
    kids: list[Tree] = []


# Each wrapped type with a JSON answer (the value, without the wrapper) pydantic accepts.
WRAPPED: list[tuple[Any, str]] = [
    (list[User], '[{"name": "Ann", "age": 31}, {"name": "Bob", "age": 4}]'),
    (dict[str, User], '{"a": {"name": "Ann", "age": 31}, "b": {"name": "Bo", "age": 2}}'),
    (int, "42"),
    (float, "2.5"),
    (bool, "true"),
    (str, '"a growing string of words"'),
    (Literal["admin", "user"], '"admin"'),
    (Color, '"blue"'),
    (Optional[User], '{"name": "Ann", "age": 31}'),  # noqa: UP045 (the spelling users write)
    (Optional[User], "null"),  # noqa: UP045
    (Cat | Dog, '{"kind": "dog", "good": true}'),
    (Point, '{"x": 1, "y": 2}'),
    (Box, '{"width": 3, "label": "big"}'),
    (RootModel[list[int]], "[1, 2, 3]"),
    (Annotated[int, Field(gt=0)], "7"),
]
IDS = [f"{i}-{annotation!r}"[:40] for i, (annotation, _) in enumerate(WRAPPED)]


def wrapped_json(value_json: str) -> str:
    return f'{{"{WRAPPER_FIELD}": {value_json}}}'


def assemble(model: type[BaseModel], text: str) -> tuple[list[Any], Any]:
    """Feed ``text`` one character at a time: the snapshots and the final validated instance."""
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    snapshots: list[Any] = []
    for char in text:
        parser.feed(char)
        snapshots.extend(
            event.partial for event in assembler.advance(parser) if isinstance(event, SnapshotEvent)
        )
    return snapshots, assembler.finish(parser.close())


# -- classification -------------------------------------------------------------------------


@pytest.mark.parametrize("model", [User, Tree, Cat])
def test_a_model_class_is_requested_as_it_is(model: type[BaseModel]) -> None:
    response = classify_response_model(model)
    assert (response.kind, response.model, response.wrapped) == ("model", model, False)
    values = {User: {"name": "A", "age": 1}, Tree: {}, Cat: {"kind": "cat", "lives": 9}}
    instance = model.model_validate(values[model])
    assert response.unwrap_final(instance) is instance


@pytest.mark.parametrize(
    "annotation",
    [Iterable[User], collections.abc.Iterable[Cat | Dog], typing.Iterable[User]],
)
def test_an_iterable_keeps_its_item_type(annotation: Any) -> None:
    response = classify_response_model(annotation)
    assert (response.kind, response.model) == ("iterable", None)
    assert response.item_type == typing.get_args(annotation)[0]


@pytest.mark.parametrize(("annotation", "value_json"), WRAPPED, ids=IDS)
def test_other_types_are_wrapped_in_an_object(annotation: Any, value_json: str) -> None:
    response = classify_response_model(annotation)
    assert response.kind == "wrapped"
    assert response.model is wrapper_model(annotation)
    schema = response.model.model_json_schema()
    assert schema["type"] == "object"
    assert schema["required"] == [WRAPPER_FIELD]
    assert list(schema["properties"]) == [WRAPPER_FIELD]


def test_the_classification_and_the_wrapper_are_made_once_per_type() -> None:
    assert classify_response_model(list[User]) is classify_response_model(list[User])
    assert wrapper_model(list[User]) is wrapper_model(list[User])
    assert PartialOf[wrapper_model(list[User])] is PartialOf[wrapper_model(list[User])]


@pytest.mark.parametrize(
    ("annotation", "name"),
    [
        (list[User], "UserList"),
        (dict[str, User], "StrUserDict"),
        (int, "IntResponse"),
        (Cat | Dog, "CatOrDogResponse"),
        (Optional[User], "OptionalUserResponse"),  # noqa: UP045
        (Literal["a", "b"], "LiteralResponse"),
        (Color, "ColorResponse"),
    ],
)
def test_a_wrapper_is_named_after_its_type(annotation: Any, name: str) -> None:
    assert wrapper_model(annotation).__name__ == name


class NotPydantic:
    pass


@pytest.mark.parametrize(
    ("annotation", "named"),
    [
        (NotPydantic, "NotPydantic"),
        (Callable[[int], int], "Callable"),
        (list[NotPydantic], "NotPydantic"),
        (42, "42"),
        ("User", "'User'"),
        (Iterable, "Iterable"),
    ],
)
def test_an_unsupported_type_is_a_typed_error_naming_it(annotation: Any, named: str) -> None:
    with pytest.raises(UnsupportedResponseModelError) as caught:
        classify_response_model(annotation)
    error = caught.value
    assert isinstance(error, StreamStructError)
    assert isinstance(error, InvalidArgumentTypeError)
    assert isinstance(error, TypeError)
    assert error.argument == "response_model"
    assert error.response_model is annotation
    assert named in str(error)
    assert "errors.pydantic.dev" not in str(error)
    assert pickle.loads(pickle.dumps(error)).argument == "response_model"


# -- unwrapping, against TypeAdapter ---------------------------------------------------------


@pytest.mark.parametrize(("annotation", "value_json"), WRAPPED, ids=IDS)
def test_the_final_value_is_what_a_type_adapter_gives(annotation: Any, value_json: str) -> None:
    response = classify_response_model(annotation)
    assert response.model is not None
    expected = TypeAdapter(annotation).validate_json(value_json)
    _, final = assemble(response.model, wrapped_json(value_json))
    assert response.unwrap_final(final) == expected
    direct = response.model.model_validate_json(wrapped_json(value_json))
    assert response.unwrap_final(direct) == expected


@pytest.mark.parametrize(
    ("annotation", "value_json"),
    [(list[User], '[{"name": "Ann", "age": "old"}]'), (int, '"x"'), (Cat | Dog, '{"kind": "cow"}')],
)
def test_an_invalid_value_fails_where_a_type_adapter_fails(
    annotation: Any, value_json: str
) -> None:
    response = classify_response_model(annotation)
    assert response.model is not None
    with pytest.raises(ValidationError) as adapter_error:
        TypeAdapter(annotation).validate_json(value_json)
    with pytest.raises(ValidationError) as wrapped_error:
        response.model.model_validate_json(wrapped_json(value_json))
    # The same errors, one level down (under the wrapper's field).
    assert [e["loc"][1:] for e in wrapped_error.value.errors()] == [
        e["loc"] for e in adapter_error.value.errors()
    ]
    assert all(e["loc"][0] == WRAPPER_FIELD for e in wrapped_error.value.errors())


def test_a_partial_list_of_users_is_a_list_of_partial_users() -> None:
    response = classify_response_model(list[User])
    assert response.model is not None
    snapshots, _ = assemble(response.model, wrapped_json(WRAPPED[0][1]))
    shown = [response.unwrap_partial(s) for s in snapshots]
    assert all(isinstance(value, list) or value is None for value in shown)
    first_user = next(value[0] for value in shown if value)
    assert isinstance(first_user, PartialOf[User])
    assert first_user.age is None  # the name arrives first
    assert [u.name for u in shown[-1]] == ["Ann", "Bob"]
    assert shown[-1][0] == User(name="Ann", age=31)  # a complete item is the validated model


def test_a_partial_str_grows() -> None:
    response = classify_response_model(str)
    assert response.model is not None
    snapshots, final = assemble(response.model, wrapped_json('"a growing string"'))
    shown = [s for s in (response.unwrap_partial(s) for s in snapshots) if s is not None]
    assert len(shown) > 5
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(shown))
    assert shown[-1] == response.unwrap_final(final) == "a growing string"


def test_a_partial_optional_model_is_a_partial_of_the_model() -> None:
    response = classify_response_model(Optional[User])  # noqa: UP045
    assert response.model is not None
    snapshots, _ = assemble(response.model, wrapped_json('{"name": "Ann", "age": 31}'))
    shown = [response.unwrap_partial(s) for s in snapshots]
    assert any(isinstance(value, PartialOf[User]) and value.name == "An" for value in shown)


def test_the_partial_annotation_is_what_unwrapping_gives() -> None:
    assert (
        classify_response_model(list[User]).partial_annotation
        == Optional[  # noqa: UP045
            list[User | PartialOf[User]]
        ]
    )
    assert classify_response_model(User).partial_annotation == Optional[PartialOf[User]]  # noqa: UP045
    assert classify_response_model(int).partial_annotation == Optional[int]  # noqa: UP045
    assert classify_response_model(Iterable[User]).partial_annotation is None
    response = classify_response_model(list[User])
    snapshots, _ = assemble(response.model, wrapped_json(WRAPPED[0][1]))  # type: ignore[arg-type]
    adapter = TypeAdapter(response.partial_annotation)
    for snapshot in snapshots:
        value = response.unwrap_partial(snapshot)
        assert adapter.validate_python(value, strict=True) == value


def test_unwrapping_a_model_or_nothing_changes_nothing() -> None:
    response = classify_response_model(User)
    snapshot = PartialOf[User](name="A")
    assert response.unwrap_partial(snapshot) is snapshot
    assert classify_response_model(int).unwrap_partial(None) is None


def test_the_wrapper_refuses_extra_keys() -> None:
    # A model that answers {"response": 1, "other": 2} is told, rather than half-understood.
    with pytest.raises(ValidationError):
        wrapper_model(int).model_validate(json.loads('{"response": 1, "other": 2}'))


class Tabby(BaseModel):
    name: str
    lives: int


class Hound(BaseModel):
    name: str
    barks: bool


def test_a_top_level_union_is_shown_only_once_its_member_can_be_told() -> None:
    # Not as its first member (PartialTabby) while only the keys both members share are written.
    response = classify_response_model(Tabby | Hound)
    assert response.model is not None
    snapshots, final = assemble(response.model, wrapped_json('{"name": "Rex", "barks": true}'))
    shown = [response.unwrap_partial(s) for s in snapshots]
    assert not any(isinstance(value, PartialOf[Tabby] | Tabby) for value in shown)
    told = [value for value in shown if value is not None]
    assert told
    assert all(isinstance(value, PartialOf[Hound] | Hound) for value in told)
    assert response.unwrap_final(final) == Hound(name="Rex", barks=True)


# -- field event paths written from below the wrapper ---------------------------------------


class Tagged(BaseModel):
    label: Annotated[str, Atomic]
    kind: Annotated[str, NotNull]
    tags: list[Annotated[str, Atomic]] = []


# The wrapped types again, with streaming annotations inside (the withheld paths are compared
# with the events' paths, which then start below the wrapper too).
WRAPPED_EVENTS: list[tuple[Any, str]] = [
    *WRAPPED,
    (
        list[Tagged],
        '[{"label": "a b", "kind": "k", "tags": ["x", "yz"]}, {"kind": "q", "label": ""}]',
    ),
    (Annotated[str, Atomic], '"whole or nothing"'),
    (dict[str, Annotated[User, Atomic]], '{"a": {"name": "Ann", "age": 31}}'),
]


def _field_events(
    model: type[BaseModel], pieces: list[str], offset: int
) -> list[tuple[str, Any, Any]]:
    assembler = PartialAssembler(model, event_path_offset=offset)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    out: list[tuple[str, Any, Any]] = []
    for piece in pieces:
        parser.feed(piece)
        for event in assembler.advance(parser):
            if isinstance(event, SnapshotEvent):
                out.append(("snapshot", event.partial, None))
            else:
                extra = getattr(event, "text", getattr(event, "value", None))
                out.append((type(event).__name__, event.path, extra))
    return out


@pytest.mark.parametrize(("annotation", "value_json"), WRAPPED_EVENTS, ids=str)
def test_event_paths_written_below_the_wrapper_are_the_rewritten_ones(
    annotation: Any, value_json: str
) -> None:
    """event_path_offset=1 (what the reader asks for a wrapped type) gives the events the
    assembler gives without it, each field event's path less its first key (the wrapper's): what
    the reader rewrote every event to before. Every split of the text into two, and one
    character at a time."""
    model = wrapper_model(annotation)
    text = wrapped_json(value_json)
    splits = [[text[:cut], text[cut:]] for cut in range(len(text) + 1)] + [list(text)]
    for pieces in splits:
        plain = [
            (kind, path if kind == "snapshot" else path[1:], extra)
            for kind, path, extra in _field_events(model, pieces, 0)
        ]
        assert _field_events(model, pieces, 1) == plain
