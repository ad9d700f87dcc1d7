"""The assembler's field side alone (streamstruct._model._fields.FieldValidator): values validated as they
close, fields whose validators read ``info.data`` deferred until the fields before them came."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationInfo, field_validator

from streamstruct import ResponseValidationError
from streamstruct._model._fields import FieldValidator
from streamstruct._model._nodes import _root_node
from streamstruct._model._partial import FieldCompleted, FieldStarted, PartialEvent, TextAppended


class Pair(BaseModel):
    low: int
    high: int

    @field_validator("high")
    @classmethod
    def above_low(cls, value: int, info: ValidationInfo) -> int:
        if value < info.data["low"]:
            raise ValueError("high is below low")
        return value


class Card(BaseModel):
    name: str
    pair: Pair
    tags: list[str] = []


def _validator(model: type[BaseModel], text: str = "") -> FieldValidator:
    root, _ = _root_node(model)
    return FieldValidator(
        root, text=lambda: text, context=None, drop=False, events=True, from_members=True
    )


def _simple(events: list[PartialEvent]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, FieldStarted):
            out.append(("started", event.path))
        elif isinstance(event, TextAppended):
            out.append(("text", event.path, event.text))
        elif isinstance(event, FieldCompleted):
            out.append(("completed", event.path, event.value))
    return out


def test_a_value_is_validated_when_it_closes_with_its_events() -> None:
    fields = _validator(Card)
    events: list[PartialEvent] = []
    fields.complete(("name",), "Al", 9, 13, 1, events)  # "A" was sent while it grew
    assert _simple(events) == [
        ("started", ("name",)),
        ("text", ("name",), "l"),
        ("completed", ("name",), "Al"),
    ]
    assert fields.frames[()].values == {"name": "Al"}


def test_a_field_reading_info_data_waits_for_the_fields_before_it() -> None:
    fields = _validator(Pair)
    events: list[PartialEvent] = []
    fields.complete(("high",), 5, 8, 9, 0, events)  # written first: "low" has not come
    assert ("completed", ("high",), 5) not in _simple(events)
    assert fields.frames[()].deferred
    fields.complete(("low",), 1, 17, 18, 0, events)
    completed = [e for e in _simple(events) if e[0] == "completed"]
    assert completed == [
        ("completed", ("low",), 1),
        ("completed", ("high",), 5),
    ]  # declaration order
    assert fields.stale == [()]  # its snapshot had shown "high" before it was validated


def test_a_deferred_field_is_validated_when_its_object_closes_and_errors_say_where() -> None:
    text = '{"pair": {"high": 1, "low": 2}}'
    fields = _validator(Card, text)
    events: list[PartialEvent] = []
    fields.complete(("pair", "high"), 1, 18, 19, 0, events)
    with pytest.raises(ResponseValidationError) as caught:
        fields.complete(("pair", "low"), 2, 28, 29, 0, events)
    assert caught.value.path == ("pair", "high")
    assert caught.value.raw == "1"
    assert "high is below low" in str(caught.value)


def test_the_final_members_are_those_validated_when_each_closed() -> None:
    fields = _validator(Card)
    events: list[PartialEvent] = []
    fields.complete(("name",), "Al", 9, 13, 0, events)
    fields.complete(("tags",), ["x"], 23, 28, 0, events)
    value = {"name": "Al", "tags": ["x"]}
    members = fields.validated_fields(value)
    assert members == value
    assert members is not None
    assert members["tags"] is fields.frames[()].values["tags"]
