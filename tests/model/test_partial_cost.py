"""The assembler's work per snapshot follows what changed, not the length of the document.

A long list being written must not be walked again from its first entry: these tests count the
members the assembler looks at, so that a regression shows as a failure, not as a slow benchmark.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from streamstruct import PartialAssembler
from streamstruct._core._json import JSONParser
from streamstruct._model._assembler import ALL_SHORTCUTS, SnapshotShortcuts
from streamstruct._model._partial import SnapshotEvent


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


def _stream(
    text: str, size: int, shortcuts: SnapshotShortcuts = ALL_SHORTCUTS
) -> tuple[int, list[Any], Report]:
    """Feed ``text`` in pieces of ``size``; the members looked at, the snapshots, the result."""
    assembler = PartialAssembler(Report)
    assembler._core._shortcuts = shortcuts
    parser = JSONParser(completion_depth=assembler.completion_depth)
    snapshots: list[Any] = []
    for start in range(0, len(text), size):
        parser.feed(text[start : start + size])
        for event in assembler.advance(parser):
            if isinstance(event, SnapshotEvent):
                snapshots.append(event.partial)
    return assembler._core._levels.looked_at, snapshots, assembler.finish(parser.close())


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
def test_members_are_looked_at_a_bounded_number_of_times(size: int) -> None:
    # A row may close in a piece that shows nothing new (its last string was already whole): the
    # parser's snapshot then still holds its copy of the row, and the next one the parser's own
    # object. That must not make the assembler start the list again.
    rows = 300
    looked, _, result = _stream(_document(rows), size)
    assert result == Report.model_validate_json(_document(rows))
    # Each row's members (id, name, tags and the tags' items) and the row itself, a few times at most.
    assert rows <= looked <= 10 * rows  # (at least once each: the spy saw them)


def test_snapshots_still_show_every_closed_row() -> None:
    text = _document(40)
    expected = Report.model_validate_json(text)
    _, snapshots, _ = _stream(text, 4)
    for snapshot in snapshots:
        rows = snapshot.rows or []
        closed = [row for row in rows if row.tags is not None and row.name is not None]
        for shown in closed[:-1]:
            assert shown.model_dump() == expected.rows[shown.id].model_dump()
    assert snapshots[-1].rows[-1].model_dump() == expected.rows[-1].model_dump()


def test_without_the_continued_levels_every_snapshot_looks_at_every_member() -> None:
    # The shortcut the bound above relies on, switched off: the count grows with the square.
    rows = 60
    looked, _, result = _stream(_document(rows), 4, SnapshotShortcuts(continued_levels=False))
    assert result == Report.model_validate_json(_document(rows))
    assert looked > 10 * rows
