"""The reader of one object: ``Partial`` snapshots and field events out, the validated model at the end.

Response layer, split out of :mod:`._reader` (issue 13): :class:`PartialReader` is the
:class:`~._reader.ResponseReader` whose model side is the assembler (:mod:`._assembler`), and
:func:`_unwrapped_events` shows a wrapped response type (``list[User]``, ``int``, ... asked for as
``{"response": ...}``, see :mod:`._response_types`) as the caller asked for it: its snapshots
unwrapped (the assembler writes its field events' paths from below the wrapper's key already). Compiled with
mypyc like :mod:`._reader` (it subclasses a compiled class, and runs for every event).
"""

from __future__ import annotations

from typing import Any, final

from .._core._text import TextLog
from .._core._wire import ToolCallKey
from .._errors import ResponseValidationError, StreamStructError
from .._model._assembler import AssemblerCore
from .._model._partial import SnapshotEvent
from .._model._response_types import WRAPPER_FIELD
from .._request._modes import RequestPlan
from ._events import ReasoningAppended
from ._reader import ResponseReader, _ToolCall

__all__ = ["PartialReader"]


@final
class PartialReader(ResponseReader):
    """One object: outputs are :class:`~streamstruct.PartialEvent` s, the end gives the validated
    model. In a tool mode only the first tool call is the object; a second one is not read."""

    __slots__ = ("_assembler", "_wrapped")

    def _start_models(self, plan: RequestPlan, context: Any) -> int | None:
        # A response type that is not a model (list[User], int, ...) is assembled as its wrapper
        # model {"response": ...}; what leaves the reader is unwrapped (see _response_types).
        self._wrapped = plan.spec.wrapped
        self._assembler = AssemblerCore(
            plan.spec.models[0],
            text=self.text_so_far,
            context=context,
            drop_injected_nulls=plan.strict,
            # The events' paths as the caller asked for the answer: without the wrapper's key.
            event_path_offset=0 if self._wrapped is None else 1,
        )
        return self._assembler.completion_depth

    def _get_field_events(self) -> bool:
        return self._assembler.field_events

    def _set_field_events(self, wanted: bool) -> None:
        self._assembler.field_events = wanted

    def _add_reasoning(self, text: str) -> None:
        self._reasoning.append(text)
        if self._assembler.field_events:  # events() reports it; snapshots alone do not
            self._side_events.append(ReasoningAppended(text))

    def _partial(self) -> Any:
        if self._wrapped is not None:
            return self._wrapped.unwrap_partial(self._assembler.snapshot)
        return self._assembler.snapshot

    def _arguments_log(self, key: ToolCallKey, call: _ToolCall) -> TextLog | None:
        # One object is asked for; a second call is not part of it.
        return self._text_parts if key == self._first_key else None

    def _advance_models(self) -> list[Any]:
        parser = self._main_parser()
        if parser is None:
            return []
        wrapped = self._wrapped
        if wrapped is None:
            return self._assembler.advance(parser)
        try:
            return _unwrapped_events(self._assembler.advance(parser))
        except ResponseValidationError as error:
            raise wrapped.unwrap_error(error)  # noqa: B904 (raised as the assembler raised it)

    def _as_if_one_read_per_piece(self, error: ResponseValidationError) -> StreamStructError:
        """``error``, carrying the snapshot it would carry had each piece of this read come in a
        read of its own: the last one before the failing value, not the one before this read.
        The parser is past that point, so the text is parsed again by a parser and an assembler
        of its own: what came before this read in one piece, then this read's pieces one by one
        until the error comes back. Only on this error path, for a read of several pieces."""
        marks = self._marks[:]
        if len(marks) < 2 or self._main_parser() is None:
            return self._detached(error)
        text = self._text_parts.text()
        parser = self._new_parser(content=self._content_parser is not None)
        assembler = AssemblerCore(
            self._assembler.model,
            text=lambda: text,
            context=self._validation_context,
            drop_injected_nulls=self._plan.strict,
            field_events=False,
        )
        start = self._collected_at
        try:
            parser.feed(text[:start])
            assembler.advance(parser)
            for end in marks:
                parser.feed(text[start:end])
                start = end
                assembler.advance(parser)
        except StreamStructError:
            snapshot = assembler.snapshot
            wrapped = self._wrapped
            error.partial = snapshot if wrapped is None else wrapped.unwrap_partial(snapshot)
        return self._detached(error)

    def _finish_models(self) -> Any:
        wrapped = self._wrapped
        try:
            final = self._assembler.finish(self._final_value())
        except ResponseValidationError as error:
            raise error if wrapped is None else wrapped.unwrap_error(error)  # noqa: B904
        last = self._assembler.final_snapshot(final)
        if wrapped is None:
            if last is not None:
                self.final_outputs.append(last)
            return final
        if last is not None:
            self.final_outputs.extend(_unwrapped_events([last]))
        return wrapped.unwrap_final(final)


def _unwrapped_events(events: list[Any]) -> list[Any]:
    """The events of a wrapper model ``{"response": ...}`` (see _response_types) as the caller
    sees them, in place: the snapshot unwrapped, or left out before the answer has begun (the
    wrapper's ``{`` alone). The field events' paths are the caller's already (the assembler's
    ``event_path_offset``: the whole answer's own events have the path ``()``), and an
    ``advance()`` makes one snapshot at most, its last event: nothing else is looked at.

    Rewriting every event's path here instead (a new event each) cost ``events()`` of a
    ``list[Row]`` 1.05-1.09x a plain model's CPU per event (benchmarks.response_types --events).
    """
    if events and type(events[-1]) is SnapshotEvent:  # exact type: the class is final
        snapshot = events[-1].partial
        value = snapshot.__dict__[WRAPPER_FIELD]
        # A None that is not the answer (Optional[User]: null) is the wrapper's "{" alone.
        if value is not None or WRAPPER_FIELD in snapshot.model_fields_set:
            events[-1] = SnapshotEvent(value)
        else:
            events.pop()
    return events
