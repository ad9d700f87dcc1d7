"""What an annotated model's assembler sends, piece by piece, in a form tests can compare: the
withheld view's ways (``ViewShortcuts``) and the assembler's shortcuts side by side."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from streamstruct import JSONParser, PartialAssembler, SnapshotEvent, progress
from streamstruct._model._shortcuts import ALL_SHORTCUTS, SnapshotShortcuts, ViewShortcuts
from streamstruct._model._withheld import WithheldView


def view_trace(
    model: type[BaseModel],
    pieces: list[str],
    shortcuts: ViewShortcuts,
    snapshot_shortcuts: SnapshotShortcuts = ALL_SHORTCUTS,
    *,
    each_snapshot: bool = False,
) -> list[Any]:
    """Per piece: the events (a snapshot as its class, dump, fields set and progress) and, with
    ``each_snapshot``, the assembler's snapshot after them; then the final snapshot. The view
    takes ``shortcuts``, the assembler ``snapshot_shortcuts``."""
    assembler = PartialAssembler(model)
    assembler._core._shortcuts = snapshot_shortcuts
    view = assembler._core._view
    assert view is not None
    assembler._core._view = WithheldView(view._annotations, view._offset, shortcuts)
    parser = JSONParser(completion_depth=assembler.completion_depth)

    def described(event: Any) -> Any:
        if not isinstance(event, SnapshotEvent):
            return event
        shown = event.partial
        fields = sorted(shown.model_fields_set)
        return type(shown).__name__, shown.model_dump(), fields, progress(shown)

    out: list[Any] = []
    for piece in pieces:
        parser.feed(piece)
        out.append([described(event) for event in assembler.advance(parser)])
        if each_snapshot:
            snapshot = assembler.snapshot
            out.append(described(SnapshotEvent(snapshot)) if snapshot else None)
    final = assembler.finish(parser.close())
    out.append(described(assembler.final_snapshot(final)))
    return out
