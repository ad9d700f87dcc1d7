"""Issue 14, item 4 (lean): the final snapshot is compared with the last one without dumping either.

``PartialAssembler.final_snapshot`` sends the validated model as a last snapshot when it shows more
than the last one did. The comparison (``_partial._shows_same``) walks both member by member, the
same object standing for itself, instead of comparing two ``model_dump()`` s (two copies of a
table, the stream's peak). Side by side with the flag off (the dumps), on every split.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    computed_field,
    field_serializer,
    model_validator,
)
from shared_support import chunks

from streamstruct import JSONParser, PartialAssembler
from streamstruct._model._partial import _dumps_its_fields, _shows_same
from streamstruct._model._shortcuts import SnapshotShortcuts

SPLITS: list[int | str] = [1, 2, 3, 7, "random-1", "random-2", 10_000]


class Row(BaseModel):
    id: int
    name: str
    tags: list[str]


class Table(BaseModel):
    title: str
    rows: list[Row]


class WithDefaults(BaseModel):
    name: str
    retries: int = 3
    tags: list[str] = Field(default_factory=lambda: ["new"])
    pair: tuple[int, int] | None = None


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    secret: str = Field(default="x", exclude=True)


class Nested(BaseModel):
    table: Table
    lookup: dict[str, Row]
    grid: list[list[int]]


class Shown(BaseModel):
    """A row whose dump is not its fields: a serializer shows two names the same."""

    id: int
    name: str

    @field_serializer("name")
    def _lower(self, name: str) -> str:
        return name.lower()


class Renamed(BaseModel):
    """The final object's rows are new ones (a validator remade them), shown as the old ones."""

    rows: list[Shown]

    @model_validator(mode="after")
    def _remade(self) -> Renamed:
        self.rows = [Shown(id=row.id, name=row.name.lower()) for row in self.rows]
        return self


class Scaled(BaseModel):
    """A row whose dump is not its fields: a computed field reads private state."""

    id: int
    _scale: int = PrivateAttr(1)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scaled(self) -> int:
        return self.id * self._scale


class Rescaled(BaseModel):
    """The final object's row is a new one, with the same fields and another dump."""

    row: Scaled

    @model_validator(mode="after")
    def _rescaled(self) -> Rescaled:
        row = Scaled(id=self.row.id)
        row._scale = 10
        self.row = row
        return self


TABLE = {
    "title": "t",
    "rows": [{"id": i, "name": f"n{i}", "tags": ["a", "b"][: i % 3]} for i in range(5)],
}
CASES: list[tuple[type[BaseModel], Any]] = [
    (Table, TABLE),
    (Table, {"title": "empty", "rows": []}),
    (WithDefaults, {"name": "a"}),  # defaults filled in at the end: a final snapshot is sent
    (WithDefaults, {"name": "a", "retries": 3, "tags": ["new"], "pair": [1, 2]}),
    (Open, {"name": "a", "more": {"x": [1, 2]}, "secret": "s"}),
    (Nested, {"table": TABLE, "lookup": {"k": TABLE["rows"][0]}, "grid": [[1, 2], [], [3]]}),
    (Renamed, {"rows": [{"id": 1, "name": "ABC"}, {"id": 2, "name": "d"}]}),
    (Rescaled, {"row": {"id": 1}}),
]
IDS = [
    *("table", "empty-table", "defaults-filled", "defaults-given", "extra-excluded", "nested"),
    *("serializer-hides-a-change", "computed-field-shows-one"),
]


def _final_snapshot(model: type[BaseModel], document: Any, split: int | str, flag: bool) -> Any:
    assembler = PartialAssembler(model)
    assembler._core._shortcuts = SnapshotShortcuts(final_compare=flag)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    for piece in chunks(json.dumps(document), split):
        parser.feed(piece)
        assembler.advance(parser)
    final = assembler.finish(parser.close())
    sent = assembler.final_snapshot(final)
    return None if sent is None else sent.partial.model_dump()


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("model", "document"), CASES, ids=IDS)
def test_the_final_snapshot_is_sent_as_when_both_were_dumped(
    model: type[BaseModel], document: Any, split: int | str
) -> None:
    compared = _final_snapshot(model, document, split, flag=True)
    dumped = _final_snapshot(model, document, split, flag=False)
    assert compared == dumped


def test_defaults_filled_in_make_a_final_snapshot_and_a_complete_table_none() -> None:
    assert _final_snapshot(WithDefaults, {"name": "a"}, 1, flag=True) is not None
    assert _final_snapshot(Table, TABLE, 1, flag=True) is None


def test_shows_same_is_what_the_dumps_say() -> None:
    row, other = Row(id=1, name="a", tags=[]), Row(id=1, name="a", tags=[])
    assert _shows_same(row, other)
    assert _shows_same([row], [other])
    assert not _shows_same(row, Row(id=1, name="b", tags=[]))
    assert not _shows_same([row], (row,))  # a list and a tuple dump differently
    assert not _shows_same([row], [row, row])
    assert _shows_same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not _shows_same({"a": 1}, {"b": 1})
    assert _shows_same(row, {"id": 1, "name": "a", "tags": []})  # a model beside its dump
    assert _shows_same(Open(name="a", secret="s"), Open(name="a", secret="t"))  # excluded
    assert not _shows_same(Open(name="a", x=1), Open(name="a", x=2))  # extras are dumped


def test_shows_same_walks_any_depth_without_recursion() -> None:
    deep: list[Any] = []
    other: list[Any] = []
    for _ in range(100_000):
        deep, other = [deep], [other]
    assert _shows_same(deep, other)


def test_shows_same_dumps_a_model_whose_dump_is_not_its_fields() -> None:
    assert _shows_same(Shown(id=1, name="ABC"), Shown(id=1, name="abc"))  # both dump "abc"
    assert _shows_same([Shown(id=1, name="A")], [Shown(id=1, name="a")])
    scaled = Scaled(id=1)
    scaled._scale = 10
    assert not _shows_same(Scaled(id=1), scaled)  # same fields, scaled 1 and 10


class Looped(BaseModel):
    """A model a validator made a cycle of: it holds itself."""

    id: int
    me: Any = None

    @model_validator(mode="after")
    def _looped(self) -> Looped:
        self.me = [self]
        return self


def test_shows_same_ends_on_two_cycles_of_models() -> None:
    # The dumps end in a RecursionError here; the walk must end, and tell the ids apart.
    assert _shows_same(Looped(id=1), Looped(id=1))
    assert not _shows_same(Looped(id=1), Looped(id=2))
    assert _shows_same([Looped(id=1), Looped(id=2)], [Looped(id=1), Looped(id=2)])


def test_a_model_dumps_its_fields_unless_its_own_schema_says_otherwise() -> None:
    assert _dumps_its_fields(Table)
    assert not _dumps_its_fields(Shown)  # a field serializer
    assert not _dumps_its_fields(Scaled)  # a computed field
    assert _dumps_its_fields(Renamed)  # its rows are checked as they are walked, with Shown
    assert _dumps_its_fields(Rescaled)
