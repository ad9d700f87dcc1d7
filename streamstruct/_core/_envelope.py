"""Learnt envelopes: the data of a stream's common event with holes where the next ones differ.

The servers send nearly every event of a stream in the same envelope: a chat chunk's
``{"id":...,"choices":[{"index":0,"delta":{"content":"<text>"}...}],"obfuscation":"<pad>"}``, the
Responses API's
``{"type":"response.output_text.delta","item_id":...,"output_index":0,...,"delta":"<text>",
"sequence_number":7}``, Anthropic's ``{"type":"content_block_delta","index":0,"delta":{"type":
"text_delta","text":"<text>"}}``. Only a few tokens change from one event to the next: the text,
a counter (``sequence_number``) and a padding string (``obfuscation``). :func:`learn_envelope`
keeps the envelope of one event's data as literal pieces around those holes, and
:meth:`Envelope.text_of` reads a later event's data against it: when every literal piece is
there and every hole holds one token of its kind (a JSON string, an integer), the data is, token
for token, the learnt event with other values in the holes, so ``json.loads`` would give the
learnt payload with those values; the text alone is decoded (``json.decoder.scanstring``, which
``json.loads`` uses, strict as it is), ``json.loads`` is skipped.

Which field each hole is, is proved when the envelope is learnt, not assumed: the data with probe
values in the holes must ``json.loads`` to the learnt payload with the probe values at the holes'
fields and nothing else changed. The decoders that use an envelope (chat's ``ChunkDecoder``, the
Responses and Anthropic ones) ignore the counter and the padding, so the text is all a matching
event adds; each keeps its own state (a call's key, the block or item the text belongs to) as its
ordinary path would.

Core layer: the standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final, final

__all__ = ["ENVELOPE_TRIES", "Envelope", "learn_envelope"]

# Envelopes learnt in a row without one reuse before a stream's are no longer learnt (a server
# that varies each one: every learning costs a json.loads).
ENVELOPE_TRIES: Final = 4

# The kinds of hole.
_TEXT: Final = 0  # the string the event adds: what text_of returns
_INTEGER: Final = 1  # a counter the decoder ignores
_PADDING: Final = 2  # a string the decoder ignores

# One non-negative JSON integer token (a counter), at most 18 digits: json.loads refuses
# integers past 4300 digits (sys.int_info), so a longer one goes the ordinary way to fail as it
# does there; a negative one, never sent, goes the ordinary way too.
_INTEGER_TOKEN: Final = re.compile(r"(?:0|[1-9][0-9]{0,17})")

# json.loads' own string decoder (C), strict as json.loads is: no control characters unescaped.
_scanstring: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]

# Probe values put in the holes, which no server sends. A string's probe begins with an escape:
# if the quote before it closed a string instead of opening one, the probe is not JSON.
_PROBE_STRING: Final = '\\u0000streamstruct-probe\\u0001"'  # after the opening quote
_PROBE_TEXT: Final = "\x00streamstruct-probe\x01"
_PROBE_INTEGER: Final = 987654321987654321
_BETWEEN: Final = " \t\r\n:"  # what may stand between a key and its value


@final
class Envelope:
    """A learnt event's data cut around its holes (see the module docstring), with what the
    decoder that learnt it needs to know of it (``key`` and ``index``: the dialect's own)."""

    __slots__ = (
        "event",
        "head",
        "holes",
        "index",
        "key",
        "middle",
        "only_text",
        "tail",
        "text_padding",
    )

    def __init__(
        self,
        head: str,
        holes: tuple[tuple[int, str], ...],
        event: str | None,
        key: int | None,
        index: int | None,
    ) -> None:
        self.head = head  # up to the first hole (a string hole's opening quote included)
        self.holes = holes  # each hole's kind and the literal piece after it
        # Chat's and Anthropic's envelopes (the text alone, or the text then OpenAI's padding)
        # are read without the loop over the holes, as chat's own envelope was: with the loop,
        # chat's decode_data cost 0.05-0.14 us per chunk more than before (of 0.3-0.5 compiled,
        # 0.5-0.7 pure); with these branches, +0.00-0.02 compiled and +0.03-0.07 pure (the call
        # to text_of), medians of 400 x 200 chunks, old and new builds run in turn.
        kinds = tuple(kind for kind, _ in holes)
        self.only_text = kinds == (_TEXT,)
        self.text_padding = kinds == (_TEXT, _PADDING)
        self.middle = holes[0][1]  # after the first hole
        self.tail = holes[-1][1]
        self.event = event
        self.key = key  # the TextPiece key: a tool call's, None for content
        self.index = index  # where the decoder's state about the text is kept

    def text_of(self, data: str, event: str | None) -> str | None:
        """The text ``data`` holds when it is this envelope with other values in its holes,
        else None (the caller then decodes it the ordinary way, which says what is wrong)."""
        if event != self.event or not data.startswith(self.head):
            return None
        at = len(self.head)
        if self.only_text:
            try:
                only, at = _scanstring(data, at)
            except ValueError:  # not one valid string
                return None
            tail = self.tail
            return only if len(data) - at == len(tail) and data.endswith(tail) else None
        if self.text_padding:
            return self._text_padding_of(data, at)
        text: str | None = None
        for kind, literal in self.holes:
            if kind == _INTEGER:
                token = _INTEGER_TOKEN.match(data, at)
                if token is None:
                    return None
                at = token.end()
            else:
                try:
                    value, at = _scanstring(data, at)
                except ValueError:  # not one valid string
                    return None
                if kind == _TEXT:
                    text = value
            if not data.startswith(literal, at):
                return None
            at += len(literal)
        return text if at == len(data) else None

    def _text_padding_of(self, data: str, at: int) -> str | None:
        """:meth:`text_of` for the text, then a padding string (chat's with OpenAI's padding)."""
        try:
            text, at = _scanstring(data, at)
            middle = self.middle
            if not data.startswith(middle, at):
                return None
            _, at = _scanstring(data, at + len(middle))
        except ValueError:  # not one valid string
            return None
        tail = self.tail
        return text if len(data) - at == len(tail) and data.endswith(tail) else None


def learn_envelope(
    data: str,
    event: str | None,
    payload: dict[str, Any],
    text_path: tuple[str | int, ...],
    *,
    key: int | None = None,
    index: int | None = None,
    counters: tuple[str, ...] = (),
    paddings: tuple[str, ...] = (),
) -> Envelope | None:
    """The envelope of ``data`` (``payload`` is its ``json.loads``), or None when it cannot be
    proved. Its holes: the string at ``text_path`` (keys from the top), and the top level's
    integer ``counters`` and string ``paddings`` that ``payload`` has. The path's keys are
    object keys, or list positions (ints); its last is an object key."""
    text = _at_path(payload, text_path)
    field = text_path[-1]
    if type(text) is not str or text == _PROBE_TEXT or not isinstance(field, str):
        return None
    spans = [_string_span(data, field, text, _TEXT)]
    for name in counters:
        value = payload.get(name)
        if value is not None:
            if type(value) is not int or value == _PROBE_INTEGER:
                return None
            spans.append(_integer_span(data, name, value))
    for name in paddings:
        value = payload.get(name)
        if value is not None:
            if type(value) is not str or value == _PROBE_TEXT:
                return None
            spans.append(_string_span(data, name, value, _PADDING))
    found = sorted(span for span in spans if span is not None)
    if len(found) != len(spans):
        return None
    head, holes, probe = _cut(data, found)
    if head is None or not _probe_lands(probe, payload, text_path, counters, paddings):
        return None
    return Envelope(head, holes, event, key, index)


def _at_path(payload: dict[str, Any], path: tuple[str | int, ...]) -> object:
    node: object = payload
    for name in path:
        if isinstance(name, int):
            if type(node) is not list or not 0 <= name < len(node):
                return None
            node = node[name]
        elif type(node) is dict:
            node = node.get(name)
        else:
            return None
    return node


def _cut(
    data: str, spans: list[tuple[int, int, int]]
) -> tuple[str | None, tuple[tuple[int, str], ...], str]:
    """``data`` cut around the (sorted) spans: the head, each hole's kind and the literal after
    it, and the probe (``data`` with probe values in the holes); a None head if spans overlap."""
    holes: list[tuple[int, str]] = []
    probe: list[str] = []
    at = 0
    head: str | None = None
    for start, end, kind in spans:
        if start < at:
            return None, (), ""
        literal = data[at:start]
        if head is None:
            head = literal
        else:
            holes[-1] = (holes[-1][0], literal)
        probe.append(literal)
        probe.append(str(_PROBE_INTEGER) if kind == _INTEGER else _PROBE_STRING)
        holes.append((kind, ""))
        at = end
    holes[-1] = (holes[-1][0], data[at:])
    probe.append(data[at:])
    return head, tuple(holes), "".join(probe)


def _probe_lands(
    probe: str,
    payload: dict[str, Any],
    text_path: tuple[str | int, ...],
    counters: tuple[str, ...],
    paddings: tuple[str, ...],
) -> bool:
    """Whether the probe is the payload with the probe values at the holes' fields, nothing else
    changed: then each hole is the field it was taken for, in the probe and in any later data."""
    try:
        changed = json.loads(probe)
    except (ValueError, RecursionError):
        return False
    if type(changed) is not dict or _at_path(changed, text_path) != _PROBE_TEXT:
        return False
    holder = _at_path(changed, text_path[:-1])
    assert type(holder) is dict  # the text was found in it
    holder[text_path[-1]] = _at_path(payload, text_path)  # put back: the rest must be the same
    for names, probe_value in ((counters, _PROBE_INTEGER), (paddings, _PROBE_TEXT)):
        for name in names:
            if name in payload and payload[name] is not None:
                value = changed.get(name)
                if value != probe_value or type(value) is not type(probe_value):
                    return False
                changed[name] = payload[name]
    return bool(changed == payload)


def _value_starts(data: str, name: str) -> list[int]:
    """Where a value of key ``name`` may start in ``data``, last first (the last key of a name
    wins in ``json.loads``; the probe says which one it was)."""
    quoted = f'"{name}"'
    size = len(data)
    starts: list[int] = []
    end = size
    while True:
        at = data.rfind(quoted, 0, end)
        if at < 0:
            return starts
        end = at
        at += len(quoted)
        while at < size and data[at] in _BETWEEN:
            at += 1
        starts.append(at)


def _string_span(data: str, name: str, value: str, kind: int) -> tuple[int, int, int] | None:
    """The span of the string value of ``name`` that decodes to ``value``: from after its opening
    quote to after its closing one."""
    for at in _value_starts(data, name):
        if at >= len(data) or data[at] != '"':
            continue
        try:
            found, end = _scanstring(data, at + 1)
        except ValueError:
            continue
        if found == value:
            return at + 1, end, kind
    return None


def _integer_span(data: str, name: str, value: int) -> tuple[int, int, int] | None:
    """The span of the integer token of ``name`` that is ``value``."""
    for at in _value_starts(data, name):
        token = _INTEGER_TOKEN.match(data, at)
        if token is not None and int(token.group()) == value:
            return at, token.end(), _INTEGER
    return None
