"""What an annotated model's assembler sends, piece by piece, in a form tests can compare: the
withheld view's ways (``ViewShortcuts``) side by side."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from streamstruct import JSONParser, PartialAssembler, SnapshotEvent, progress
from streamstruct._model._shortcuts import ViewShortcuts
from streamstruct._model._withheld import WithheldView


def view_trace(model: type[BaseModel], pieces: list[str], shortcuts: ViewShortcuts) -> list[Any]:
    """Per piece: the events (a snapshot as its class, dump, fields set and progress); then the
    final snapshot. The view takes ``shortcuts``."""
    assembler = PartialAssembler(model)
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
    final = assembler.finish(parser.close())
    out.append(described(assembler.final_snapshot(final)))
    return out
