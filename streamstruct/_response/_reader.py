"""One streamed response, sans-I/O: body bytes in, model events or items out.

:class:`ResponseReader` chains the sans-I/O pieces in the order the data flows — SSE decoding
(:mod:`._sse`), the wire format's event decoder (an :class:`~._decoding.EventDecoder`, chat
completions' by default), the mode's JSON source (content, a fenced block, or tool-call
arguments), the resumable JSON parser (:mod:`._json`) and the model side — and keeps what the
caller may ask about afterwards: the raw JSON text, the usage, the finish reason, the refusal.
It knows nothing of HTTP or of
event loops (the stream objects in :mod:`._stream` read the network and feed it), nor of any wire
format: the decoder hands it normalised updates.

Two readers, one per model side: :class:`~._partial_reader.PartialReader` (one object, as
``Partial`` snapshots and field events, :mod:`._assembler`; in a module of its own) and
:class:`IterableReader` (complete items,
:mod:`._iterable`; in a tool mode, one item per tool call).

Every error it raises once data has arrived carries ``partial`` (the last snapshot, or the items
so far) and ``text`` (the JSON text so far).
"""

from __future__ import annotations

import contextlib
from typing import Any, Final, final

from .._core._decoding import END_OF_STREAM, ChatEventDecoder, EventDecoder
from .._core._json import DEFAULT_MAX_STRING_CHARS, JSONParser
from .._core._mdjson import FencedJSONExtractor
from .._core._redact import Redactor
from .._core._sse import SSEDecoder
from .._core._text import TextLog
from .._core._wire import ChunkUpdate, ToolCallKey, Usage
from .._errors import (
    JSONParseError,
    ResponseValidationError,
    StreamStructError,
)
from .._model._iterable import ItemsAssembler
from .._request._modes import RequestPlan
from . import _reader_errors as errors

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "IterableReader", "ResponseReader"]

DEFAULT_MAX_RESPONSE_BYTES: Final = 256 * 1024 * 1024
"""The default cap on a response body: far above any real answer, far below a runaway server."""


@final
class _ToolCall:
    """One tool call's arguments as they arrive: its own text and its own parser."""

    __slots__ = ("id", "log", "name", "parser", "parts", "reported")

    def __init__(self, parser: JSONParser) -> None:
        self.id: str | None = None  # the server's call id, for a re-ask's reply to this call
        self.name: str | None = None
        self.parser = parser
        self.parts = TextLog()
        # Where its arguments text is kept (ResponseReader._arguments_log, asked once when the
        # call begins); None when the call is not read at all.
        self.log: TextLog | None = None
        self.reported = False  # its item was handed out (iterable mode)


class ResponseReader:
    """Decode one response, streamed (:meth:`feed`) or whole (:meth:`feed_completion`): what both
    readers share. :meth:`feed` returns the outputs a piece of the body produced; :meth:`finish`
    checks the end of the response and returns the final value. A subclass makes its model side
    (:meth:`_start_models`), says how text reaches it (:meth:`_arguments_log`,
    :meth:`_advance_models`) and what the end gives (:meth:`_finish_models`).

    Not generic (its outputs are ``Any``; the stream types them): compiled, a class with a Python
    base such as ``typing.Generic`` gets a weak-reference slot mypyc never clears (see
    ``_model._assembler.AssemblerCore``)."""

    __slots__ = (
        "_bytes",
        "_calls",
        "_collected_at",
        "_content_parser",
        "_decoder",
        "_depth",
        "_fence",
        "_first_key",
        "_marks",
        "_max_bytes",
        "_max_depth",
        "_max_string",
        "_plan",
        "_reasoning",
        "_redactor",
        "_refusal",
        "_refusal_reasons",
        "_side_events",
        "_sse",
        "_text_parts",
        "_uncollected",
        "_validation_context",
        "broken",
        "done_marker",
        "final_outputs",
        "finish_reason",
        "request_id",
        "usage",
    )

    def __init__(
        self,
        plan: RequestPlan,
        *,
        validation_context: Any = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_depth: int = 1000,
        max_string_chars: int | None = DEFAULT_MAX_STRING_CHARS,
        request_id: str | None = None,
        redactor: Redactor | None = None,
        decoder: EventDecoder | None = None,
        refusal_reasons: frozenset[str] = frozenset(),
    ) -> None:
        self._plan = plan
        # Server text quoted in an error is redacted before it is quoted (and cut short).
        self._redactor = redactor
        self._max_bytes = max_response_bytes
        self._bytes = 0
        self._sse = SSEDecoder()
        self._decoder: EventDecoder = ChatEventDecoder() if decoder is None else decoder
        self._text_parts = TextLog()
        self._refusal: list[str] = []
        # The finish reasons that mean the model refused (Anthropic's "refusal"), its refusal
        # text then optional: RefusalError whatever came before.
        self._refusal_reasons = refusal_reasons
        self._reasoning: list[str] = []  # never the JSON: see reasoning
        self._side_events: list[Any] = []  # outputs that are not the model's (reasoning)
        self._fence = FencedJSONExtractor() if plan.source == "fenced_content" else None
        self._calls: dict[ToolCallKey, _ToolCall] = {}
        self._first_key: ToolCallKey | None = None
        self.request_id = request_id
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.done_marker = False  # the stream said it ended (chat's [DONE]): nothing more to read
        self.final_outputs: list[Any] = []  # what only the end produced (the final snapshot)
        # The parse error of JSON that went wrong: raised once the finish reason says whether the
        # output was also cut (see _broken_error), or the body ends.
        self.broken: JSONParseError | None = None
        self._uncollected = False  # text fed to a parser and not yet collected
        # Where each piece of text fed since the last collect ends, and where that collect was:
        # what a validation error needs to give the snapshot one read per piece would have given.
        self._marks: list[int] = []
        self._collected_at = 0
        self._validation_context = validation_context
        self._max_depth = max_depth
        self._max_string = max_string_chars
        self._depth = self._start_models(plan, validation_context)
        # Content modes have one parser, whose first complete value is the answer (see trailing).
        self._content_parser = (
            None if plan.source == "tool_calls" else self._new_parser(content=True)
        )
        if self._content_parser is not None:
            # The answer's long strings are kept once, by the parser's values (see _text).
            self._text_parts.watch(self._content_parser)

    def _start_models(self, plan: RequestPlan, context: Any) -> int | None:
        """Make the model side; return the ``completion_depth`` its parsers report values at."""
        raise NotImplementedError

    def _new_parser(self, *, content: bool) -> JSONParser:
        """A parser for the content (the one answer) or for one tool call's arguments."""
        return JSONParser(
            max_depth=self._max_depth,
            completion_depth=self._depth,
            max_string_chars=self._max_string,
            # A model may write its JSON twice, or add prose: what follows is kept (trailing).
            allow_trailing_text=content,
        )

    # -- what the caller may ask ------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The raw JSON text received so far (for parallel tool calls, each call's, one per line)."""
        return self.text_so_far()

    def text_so_far(self) -> str:
        return self._text_parts.text()

    def text_since(self, start: int) -> str:
        """``text[start:]``, costing only what it returns (parallel tool calls: what follows)."""
        return self._text_parts.since(start)

    @property
    def trailing(self) -> str:
        """In a content mode, the text after the answer's JSON value (a second value, prose), or
        ``""`` when only whitespace followed it. It is in :attr:`text` too."""
        parser = self._content_parser
        end = parser.end if parser is not None else None
        if end is None:
            return ""
        rest = self._text_parts.text()[end:]
        return rest if rest.strip() else ""

    @property
    def field_events(self) -> bool:
        """Whether the outputs include field events, or only snapshots (:class:`PartialReader`)."""
        return self._get_field_events()

    @field_events.setter
    def field_events(self, wanted: bool) -> None:
        self._set_field_events(wanted)

    def _get_field_events(self) -> bool:
        return False  # only a partial reader makes field events

    def _set_field_events(self, wanted: bool) -> None:
        pass

    @property
    def refusal(self) -> str | None:
        return "".join(self._refusal) if self._refusal else None

    @property
    def reasoning(self) -> str | None:
        """The model's reasoning text so far (thinking, reasoning summaries), or None: every
        dialect's, kept apart from the answer and never parsed."""
        return "".join(self._reasoning) if self._reasoning else None

    def _add_reasoning(self, text: str) -> None:
        self._reasoning.append(text)

    @property
    def partial(self) -> Any:
        """The last snapshot (partial reader) or the items validated so far (iterable reader)."""
        return self._partial()

    def _partial(self) -> Any:
        raise NotImplementedError

    def quote(self, text: str, limit: int = 200) -> str:
        """The first ``limit`` characters of server text, as an error may quote them: the API key
        replaced (see :mod:`._redact`)."""
        return text[:limit] if self._redactor is None else self._redactor.head(text, limit)

    # -- feeding ----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Any]:
        """Decode a piece of a streamed body; return what it produced."""
        self._bytes += len(data)
        if self._max_bytes is not None and self._bytes > self._max_bytes:
            raise self._too_large()
        try:
            events = self._sse._feed_fields(data)
        except StreamStructError as error:
            raise self._detached(error) from None
        fed = False
        # The decoder bound once per read, and its errors caught here rather than in a method of
        # their own: a call less per event. Five such folds (issue 13's last rows) took the pure
        # pipeline from 68 to 63 calls and 1.09x to 1.07x 823c300's CPU per event (tools, 10 KB,
        # burst; paired medians, the two trees' pipelines run alternately): a gain about the size
        # of the measure's noise, kept as it removes calls; compiled unchanged (1.00x -> 1.01x).
        decode_event = self._decoder.decode_event
        for event_type, data_text, _, _ in events:
            if self.done_marker:
                break
            try:
                update = decode_event(data_text, event_type)
            except StreamStructError as error:
                raise self._detached(error) from None
            except (ValueError, RecursionError):  # json.loads recurses: a hostile nesting
                raise self._detached(errors.event_not_json(self.quote(data_text))) from None
            if type(update) is tuple:  # a piece of content or arguments: most events
                key, fragment = update
                if key is None:
                    fed = self._apply_content(fragment) or fed
                else:
                    fed = self._apply_arguments(key, None, fragment) or fed
            elif update is END_OF_STREAM:
                self.done_marker = True
                break
            else:
                assert isinstance(update, ChunkUpdate)
                fed = self._apply(update) or fed
        if self.broken is not None:
            self._uncollected = False  # the parser is spent: nothing more to collect
            if self.done_marker or self.finish_reason is not None:
                raise self.broken_error()
            return []
        if not fed:
            return self._take_side_events() if self._side_events else []
        try:
            out = self._collect()
        except ResponseValidationError as error:
            raise self._as_if_one_read_per_piece(error) from None
        return self._take_side_events() + out if self._side_events else out

    def _take_side_events(self) -> list[Any]:
        events, self._side_events = self._side_events, []
        return events

    @property
    def max_response_bytes(self) -> int | None:
        return self._max_bytes

    def count(self, size: int) -> None:
        """Count ``size`` bytes of a body read whole (not fed to :meth:`feed`) against
        ``max_response_bytes``; raise :class:`~streamstruct.ResponseTooLargeError` past it."""
        self._bytes += size
        if self._max_bytes is not None and self._bytes > self._max_bytes:
            raise self._too_large()

    def _too_large(self) -> StreamStructError:
        assert self._max_bytes is not None
        return self._attach(errors.too_large(self._max_bytes, self._bytes))

    def feed_completion(self, body: object) -> list[Any]:
        """Take a whole, non-streamed response body; return what it produced."""
        try:
            update = self._decoder.decode_body(body)
        except StreamStructError as error:
            raise self._detached(error) from None
        fed = self._apply(update)
        self.done_marker = True
        if self.broken is not None:
            raise self.broken_error()
        return self._collect() if fed else []

    def _apply(self, update: ChunkUpdate) -> bool:
        """Apply one update; return whether JSON text was fed."""
        if update.error is not None:
            raise self._attach(update.error.to_exception(request_id=self.request_id))
        if update.usage is not None:
            self.usage = update.usage
        if update.finish_reason is not None:
            self.finish_reason = update.finish_reason
        if update.refusal:
            self._refusal.append(update.refusal)
        if update.reasoning:
            self._add_reasoning(update.reasoning)
        fed = False
        if update.content:
            fed = self._apply_content(update.content)
        for delta in update.tool_calls:
            fed = self._apply_arguments(delta.key, delta.name, delta.arguments, delta.id) or fed
        return fed

    def _apply_content(self, text: str) -> bool:
        """Take a piece of ``content``; return whether JSON text was fed (in a content mode)."""
        if self._content_parser is None or not text or self.broken is not None:
            return False
        if self._fence is not None:
            text = self._fence.feed(text)
            if not text:
                return False
        self._feed_parser(self._content_parser, text, self._text_parts)
        return True

    def _apply_arguments(
        self, key: ToolCallKey, name: str | None, arguments: str, call_id: str | None = None
    ) -> bool:
        """Take a fragment of a tool call; return whether JSON text was fed (in TOOLS mode)."""
        if self._content_parser is not None:
            return False
        call = self._calls.get(key)
        if call is None:
            call = _ToolCall(self._new_parser(content=False))
            self._calls[key] = call
            if self._first_key is None:
                self._first_key = key
            call.log = self._arguments_log(key, call)  # asked once: a call less per event
            if call.log is not None:
                call.log.watch(call.parser)
        if call.name is None and name:
            call.name = name
        if call.id is None and call_id:
            call.id = call_id
        if not arguments or self.broken is not None:
            return False
        parts = call.log
        if parts is None:
            return False
        self._feed_parser(call.parser, arguments, parts)
        return True

    def _arguments_log(self, key: ToolCallKey, call: _ToolCall) -> TextLog | None:
        """Where a tool call's arguments text is kept; None when the call is not read at all."""
        raise NotImplementedError

    def tool_calls_read(self) -> list[tuple[str | None, str | None, str]]:
        """Each tool call read so far, in order: its id, its function's name and its arguments
        text as received (what a re-ask sends back as the rejected answer)."""
        calls: list[tuple[str | None, str | None, str]] = []
        for call in self._calls.values():
            log = call.log
            if log is not None:
                calls.append((call.id, call.name, log.text()))
        return calls

    def _feed_parser(self, parser: JSONParser, text: str, parts: TextLog) -> None:
        # What follows the answer's value too (``trailing``); the mark: the length after it.
        self._marks.append(parts.append(text))
        self._uncollected = True
        try:
            parser.feed(text)
        except JSONParseError as error:
            # Not raised yet: the rest of the read may say the output was cut (see feed()).
            self.broken = error

    def _incomplete(self) -> str | None:
        """The finish reason, when it says the output was cut short (a token budget, a filter)."""
        reason = self.finish_reason
        return reason if reason in self._decoder.incomplete_reasons else None

    def broken_error(self) -> StreamStructError:
        """The error for JSON that went wrong: the parse error, or, when the model was then
        stopped for length or filtering, one error that says both."""
        error = self.broken
        assert error is not None
        reason = self._incomplete()
        if reason is None:
            return self._detached(error)
        return self._attach(errors.truncated(error, reason))

    def _collect(self) -> list[Any]:
        """The outputs of the text fed since the last call."""
        self._uncollected = False
        out = self._advance_models()
        # Only once the model side took it all: see _as_if_one_read_per_piece.
        self._marks.clear()
        self._collected_at = len(self._text_parts)
        return out

    def _advance_models(self) -> list[Any]:
        raise NotImplementedError

    def _as_if_one_read_per_piece(self, error: ResponseValidationError) -> StreamStructError:
        """``error`` as it leaves :meth:`feed` (see :meth:`PartialReader._as_if_one_read_per_piece`)."""
        return self._detached(error)

    def _main_parser(self) -> JSONParser | None:
        if self._content_parser is not None:
            return self._content_parser
        if self._first_key is None:
            return None
        return self._calls[self._first_key].parser

    # -- the end ----------------------------------------------------------------------------------

    def finish(self) -> Any:
        """Check how the response ended; return the final model or the list of items.

        Raises :class:`~streamstruct.RefusalError`, :class:`~streamstruct.IncompleteOutputError`,
        :class:`~streamstruct.StreamInterruptedError` or :class:`~streamstruct.JSONParseError`
        (all carrying the partial result and the text) when the answer is not complete.
        """
        self._sse.close()
        # The text held back for a string still open at the last settle is shared now.
        self._text_parts.settle()
        for call in self._calls.values():
            if call.log is not None:
                call.log.settle()
        if self.broken is not None:
            raise self.broken_error()
        if not self.done_marker and self.finish_reason is None:
            raise self._attach(errors.no_end(self._decoder.missing_end))
        refusal = self.refusal
        if self.finish_reason in self._refusal_reasons:
            # The stop reason says so, with or without a text (Anthropic's explanation may be
            # null), and whatever JSON came before it.
            raise self._attach(errors.refused(refusal or f"stop reason {self.finish_reason!r}"))
        if refusal and not self._received_json():
            raise self._attach(errors.refused(refusal))
        return self._finish_models()

    def _received_json(self) -> bool:
        return bool(self._text_parts) or any(c.parts for c in self._calls.values())

    def _finish_models(self) -> Any:
        raise NotImplementedError

    def _final_value(self) -> Any:
        """The answer's JSON value, once the stream ended well; the values that completed with
        its last piece collected. Raises when the answer is missing or not complete."""
        parser = self._main_parser()
        if parser is None or not parser.done:
            reason = self._incomplete()
            if reason is not None:
                raise self._attach(errors.incomplete(reason))
            if parser is None or not self._received_json():
                error = errors.no_output(self.finish_reason, refused=bool(self.refusal))
                raise self._attach(error)
        try:
            value = parser.close()
        except JSONParseError as error:
            raise self._detached(error) from None
        # Values that completed with the last piece of text are still to be reported.
        self._collect()
        return value

    def _attach(self, error: StreamStructError) -> StreamStructError:
        """Give an error the partial result and the text, so that nothing received is lost."""
        if self._uncollected:
            # Text that came earlier in the same read is not reported yet: let the model side
            # see it first, so that the partial result agrees with the text. Whatever that
            # raises is less news than the error being raised.
            with contextlib.suppress(StreamStructError):
                self._collect()
        if error.partial is None:
            error.partial = self.partial
        if not error.text:
            error.text = self.text_so_far()
        return error

    def _detached(self, error: StreamStructError) -> StreamStructError:
        """:meth:`_attach`, for ``raise ... from None``: the context suppressed here too, since
        mypyc-compiled code (this module in a compiled build, see hatch_build.py) ignores the
        ``from`` clause."""
        error = self._attach(error)
        error.__suppress_context__ = True
        return error


@final
class IterableReader(ResponseReader):
    """Complete items: outputs are validated items, the end gives the list of them. In a content
    mode the answer is ``{"items": [...]}``; in a tool mode each tool call is one item."""

    __slots__ = ("_items",)

    def _start_models(self, plan: RequestPlan, context: Any) -> int | None:
        self._items: ItemsAssembler[Any] = ItemsAssembler(
            plan.spec.item_type,
            text=self.text_so_far,
            context=context,
            drop_injected_nulls=plan.strict,
        )
        # Tool calls: each call is one item, only the root matters. Content: {"items": [...]}.
        return 0 if plan.source == "tool_calls" else ItemsAssembler.completion_depth

    def text_so_far(self) -> str:
        if self._calls:
            return "\n".join(call.parts.text() for call in self._calls.values())
        return self._text_parts.text()

    def text_since(self, start: int) -> str:
        if self._calls:
            return self.text_so_far()[start:]
        return self._text_parts.since(start)

    def _partial(self) -> Any:
        return self._items.items

    def _arguments_log(self, key: ToolCallKey, call: _ToolCall) -> TextLog | None:
        return call.parts

    def _advance_models(self) -> list[Any]:
        if self._content_parser is not None:
            return self._items.advance(self._content_parser)
        out: list[Any] = []
        for call in self._calls.values():
            if call.parser.done and not call.reported:
                call.reported = True
                raw = call.parts.text()
                value = call.parser.close()
                out.append(self._add_item(value, raw, call.name))
        return out

    def _add_item(self, value: Any, raw: str, tool: str | None) -> Any:
        if self._plan.strict and tool in self._plan.tools:
            value = self._plan.drop_injected_nulls(value, tool=tool)
        return self._items.add(value, raw=raw)

    def _finish_models(self) -> Any:
        if self._content_parser is not None:
            return self._items.finish(self._final_value())
        for call in self._calls.values():
            if call.reported or not call.parts:
                continue
            try:
                value = call.parser.close()
            except JSONParseError as error:
                raise self._unfinished_call(error)  # noqa: B904 (its __cause__ is set there)
            call.reported = True
            self._add_item(value, call.parts.text(), call.name)
        return self._items.items

    def _unfinished_call(self, error: JSONParseError) -> StreamStructError:
        """The error for a tool call whose arguments did not close."""
        reason = self._incomplete()
        if reason is None:
            return self._detached(error)
        return self._attach(errors.incomplete(reason, cause=error))
