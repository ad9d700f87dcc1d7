"""Property-based fuzzing of the decoders with arbitrary input, cut at arbitrary points.

* ``SSEDecoder``: any bytes, with small caps, fed whole, in arbitrary pieces and one byte at a
  time, give the same events and the same error - and the only error is its own ``SSEError``
  (``SSELimitError`` past a cap). What it buffers never passes its caps.
* ``JSONParser``: any text, with a small ``max_depth``, gives ``json.loads``'s answer or raises
  ``JSONParseError`` (``JSONDepthError`` only for nesting past ``max_depth``), the same whatever
  the pieces, snapshots taken after every piece; arbitrarily deep nesting never reaches Python's
  recursion limit.
* ``ResponseReader`` (the whole pipeline: SSE, chunk JSON, wire format, JSON parser, partial
  model): any body, in any pieces, gives a model or raises a ``StreamStructError``, never another
  exception.

The coverage-guided counterparts (atheris) are in ``tests/fuzz/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from shared_support import same, split_at

from streamstruct import JSONDepthError, JSONParseError, SSEError, StreamStructError
from streamstruct._core._json import JSONParser
from streamstruct._core._sse import SSEDecoder
from streamstruct._request._modes import plan_request
from streamstruct._response._partial_reader import PartialReader
from streamstruct._response._reader import IterableReader, ResponseReader

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SSE_ALPHABET = [
    b"data:",
    b"data: ",
    b"event:",
    b"id:",
    b"retry:",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"x",
    b"{}",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xa9",
    b"\xff",
    b"\x00",
    b"[DONE]",
]
sse_bytes = st.binary(max_size=300) | st.lists(st.sampled_from(SSE_ALPHABET), max_size=80).map(
    b"".join
)


def cut(data: Any, points: list[int]) -> list[Any]:
    """``data`` cut at the points, each brought into range; a point given twice counts once."""
    return split_at(data, {min(max(point, 0), len(data)) for point in points})


def decode(pieces: list[bytes], line: int, event: int) -> tuple[list[Any], str | None]:
    decoder = SSEDecoder(max_line_bytes=line, max_event_bytes=event)
    events: list[Any] = []
    try:
        for piece in pieces:
            events.extend(decoder.feed(piece))
            # Memory is bounded by the caps, whatever arrives.
            assert len(decoder._pending) <= line + 1
            assert decoder._data is None or len(decoder._data) <= event + 1
        events.extend(decoder.close())
    except SSEError as error:
        return events, type(error).__name__
    return events, None


@FUZZ
@given(
    body=sse_bytes,
    points=st.lists(st.integers(0, 300), max_size=12),
    line=st.integers(1, 64),
    event=st.integers(1, 128),
)
def test_sse_decoder_on_arbitrary_bytes_and_splits(
    body: bytes, points: list[int], line: int, event: int
) -> None:
    whole = decode([body], line, event)
    assert decode(cut(body, points), line, event) == whole
    assert decode([body[i : i + 1] for i in range(len(body))], line, event) == whole


def _refuse(name: str) -> Any:
    raise ValueError(name)


def parse(pieces: list[str], max_depth: int) -> tuple[str, Any]:
    parser = JSONParser(max_depth=max_depth)
    try:
        for piece in pieces:
            parser.feed(piece)
            parser.snapshot()
        return "value", parser.close()
    except JSONDepthError as error:
        return "deep", error.offset
    except JSONParseError as error:
        return "invalid", error.offset


JSON_ALPHABET = [*'{}[]":,.-+eE0123456789 \n\\/ubfnrtalsx\x00é😀', "null", "true", '"a"']
json_text = st.text(max_size=80) | st.lists(st.sampled_from(JSON_ALPHABET), max_size=80).map(
    "".join
)


@FUZZ
@given(
    text=json_text,
    points=st.lists(st.integers(0, 80), max_size=10),
    max_depth=st.integers(1, 6),
)
def test_json_parser_on_arbitrary_text_and_splits(
    text: str, points: list[int], max_depth: int
) -> None:
    whole = parse([text], max_depth)
    split = parse(cut(text, points), max_depth)
    assert whole[0] == split[0]
    assert same(whole[1], split[1])
    try:
        expected = json.loads(text, parse_constant=_refuse)
        accepted = True
    except ValueError:
        accepted = False
    if whole[0] == "value":
        assert accepted
        assert same(whole[1], expected)
    elif whole[0] == "invalid":
        assert not accepted
    # "deep": json.loads may accept it (nesting past max_depth) or not (invalid deeper in)


@settings(FUZZ, max_examples=25)
@given(
    depth=st.integers(1001, 5000),
    opener=st.sampled_from(["[", '{"a":', '[{"b":']),
    pieces=st.integers(1, 50),
)
def test_deep_nesting_is_a_depth_error_never_a_recursion_error(
    depth: int, opener: str, pieces: int
) -> None:
    text = opener * depth
    size = max(1, len(text) // pieces)
    outcome = parse([text[i : i + size] for i in range(0, len(text), size)], max_depth=1000)
    assert outcome[0] == "deep"


class Item(BaseModel):
    name: str
    tags: list[str] = []


class Report(BaseModel):
    title: str
    count: int
    items: list[Item]


PLANS = {
    mode: plan_request(Report, [{"role": "user", "content": "x"}], mode=mode)
    for mode in ("tools", "json_schema", "json", "md_json")
}


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


wire_chunks = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "delta",
                    "content",
                    "tool_calls",
                    "index",
                    "function",
                    "arguments",
                    "finish_reason",
                    "usage",
                    "error",
                    "refusal",
                    "id",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
bodies = (
    sse_bytes
    | st.lists(st.builds(_event, wire_chunks), max_size=6).map(b"".join)
    | st.lists(
        st.text(alphabet=list('{}[]":,0123456789 titlecountnameitems'), max_size=12).map(
            lambda text: _event(
                {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            )
        ),
        max_size=10,
    ).map(lambda events: b"".join(events) + b"data: [DONE]\n\n")
)


@FUZZ
@given(
    body=bodies,
    points=st.lists(st.integers(0, 400), max_size=8),
    mode=st.sampled_from(sorted(PLANS)),
    kind=st.sampled_from(["partial", "iterable"]),
)
def test_the_reader_gives_a_value_or_its_own_error(
    body: bytes, points: list[int], mode: str, kind: str
) -> None:
    plan = (
        PLANS[mode]
        if kind == "partial"
        else plan_request(Iterable[Item], [{"role": "user", "content": "x"}], mode=mode)
    )
    reader_class = PartialReader if kind == "partial" else IterableReader
    reader: ResponseReader = reader_class(plan, max_response_bytes=4096, max_depth=16)
    caught: StreamStructError | None = None
    try:
        for piece in cut(body, points):
            reader.feed(piece)
        reader.finish()
    except StreamStructError as error:  # anything else fails the test
        caught = error
    assert caught is None or isinstance(caught.text, str)
