"""The assembler's work per snapshot follows what changed, not the length of the document.

A long list being written must not be walked again from its first entry: these tests count the
members the assembler looks at, so that a regression shows as a failure, not as a slow benchmark.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from source_support import python_source

from streamstruct._json import JSONParser
from streamstruct._partial import SnapshotEvent


class Row(BaseModel):
    id: int
    name: str
    tags: list[str]


class Report(BaseModel):
    rows: list[Row]


def _document(rows: int) -> str:
    return json.dumps(
        {"rows": [{"id": i, "name": f"n{i}", "tags": ["a", "bc"][: i % 3]} for i in range(rows)]}
    )


def _stream(text: str, size: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[Any], Report]:
    """Feed ``text`` in pieces of ``size``; the members looked at, the snapshots, the result."""
    # The source class, whose method a test can wrap (a compiled one cannot be patched).
    assembler_class = python_source("_assembler").PartialAssembler
    assembler = assembler_class(Report)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    looked = 0
    member = assembler_class._member

    def counting(*args: Any) -> Any:
        nonlocal looked
        looked += 1
        return member(*args)

    monkeypatch.setattr(assembler_class, "_member", counting)
    snapshots: list[Any] = []
    for start in range(0, len(text), size):
        parser.feed(text[start : start + size])
        for event in assembler.advance(parser):
            if isinstance(event, SnapshotEvent):
                snapshots.append(event.partial)
    return looked, snapshots, assembler.finish(parser.close())


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
def test_members_are_looked_at_a_bounded_number_of_times(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row may close in a piece that shows nothing new (its last string was already whole): the
    # parser's snapshot then still holds its copy of the row, and the next one the parser's own
    # object. That must not make the assembler start the list again.
    rows = 300
    looked, _, result = _stream(_document(rows), size, monkeypatch)
    assert result == Report.model_validate_json(_document(rows))
    # Each row's members (id, name, tags and the tags' items) and the row itself, a few times at most.
    assert rows <= looked <= 10 * rows  # (at least once each: the spy saw them)


def test_snapshots_still_show_every_closed_row(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _document(40)
    expected = Report.model_validate_json(text)
    _, snapshots, _ = _stream(text, 4, monkeypatch)
    for snapshot in snapshots:
        rows = snapshot.rows or []
        closed = [row for row in rows if row.tags is not None and row.name is not None]
        for shown in closed[:-1]:
            assert shown.model_dump() == expected.rows[shown.id].model_dump()
    assert snapshots[-1].rows[-1].model_dump() == expected.rows[-1].model_dump()
