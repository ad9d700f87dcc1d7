"""SSEDecoder: the WHATWG event-stream interpretation rules, one test per rule, on every split.

Rule numbers (R1-R9) refer to section 1.1 of the wire-formats reference. ``_reference_decode`` below
is a deliberately naive oracle written straight from the spec text (decode everything, split with a
regex, interpret line by line); the property tests check the real decoder against it.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
import re
import tracemalloc
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_support import split_at

from streamstruct._core._sse import ServerSentEvent, SSEDecoder
from streamstruct._errors import SSEError, SSELimitError

E = ServerSentEvent


# -- helpers --------------------------------------------------------------------------------------


def decode_chunks(chunks: Iterable[bytes], **options: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**options)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events


def decode_outcome(
    chunks: Iterable[bytes], **options: int
) -> tuple[list[ServerSentEvent], tuple[type[SSEError], int | None] | None]:
    """The events decoded, and the error (its type and cap) that ended the stream, if any."""
    decoder = SSEDecoder(**options)
    events: list[ServerSentEvent] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
    except SSEError as exc:
        return events, (type(exc), getattr(exc, "limit", None))
    return events, None


def decode(stream: bytes, **options: int) -> list[ServerSentEvent]:
    return decode_chunks([stream], **options)


def assert_split_independent(stream: bytes, expected: list[ServerSentEvent]) -> None:
    """Whole, one byte at a time, at every single split point, and at random multi-splits."""
    assert decode(stream) == expected
    assert decode_chunks(stream[i : i + 1] for i in range(len(stream))) == expected
    for point in range(len(stream) + 1):
        assert decode_chunks(split_at(stream, [point])) == expected, point
    rng = random.Random(len(stream))
    for _ in range(20):
        points = [rng.randrange(len(stream) + 1) for _ in range(rng.randrange(2, 8))]
        assert decode_chunks(split_at(stream, points)) == expected, points


_LINE_BREAK = re.compile("\r\n|\r|\n")


def _reference_decode(stream: bytes) -> list[ServerSentEvent]:
    """The spec, transcribed naively: nothing incremental, nothing clever."""
    text = stream.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines = _LINE_BREAK.split(text)
    lines.pop()  # an unterminated last line is discarded, as is an unfinished event (R9)
    events: list[ServerSentEvent] = []
    data_buffer, event_type = "", ""
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data_buffer:
                events.append(E(event_type or "message", data_buffer[:-1], last_id, retry))
            data_buffer, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data_buffer += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return events


OPENAI_STREAM = b"".join(
    b'data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":1727346171,'
    b'"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"' + piece + b'"},'
    b'"logprobs":null,"finish_reason":null}]}\n\n'
    for piece in (b'{\\"', b"name", b'\\":\\"', "Zoë 🙂".encode(), b'\\"}')
) + (b": keep-alive\n\ndata: [DONE]\n\n")


# -- the event type ------------------------------------------------------------------------------


def test_event_defaults_and_immutability() -> None:
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "x"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")  # slotted


# -- R2: line terminators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"data: a\n\ndata: b\n\n", id="LF"),
        pytest.param(b"data: a\r\rdata: b\r\r", id="CR"),
        pytest.param(b"data: a\r\n\r\ndata: b\r\n\r\n", id="CRLF"),
        pytest.param(b"data: a\n\r\ndata: b\r\r\n", id="LF+CRLF, CR+CRLF"),
        pytest.param(b"data: a\r\n\rdata: b\n\r", id="CRLF+CR, LF+CR"),
    ],
)
def test_line_terminators(stream: bytes) -> None:
    assert_split_independent(stream, [E(data="a"), E(data="b")])


def test_crlf_split_across_feeds_is_one_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # Were the LF a second line break, this would be the blank line that dispatches.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [E(data="a")]


def test_cr_at_end_of_feed_completes_the_line_at_once() -> None:
    # The CR might be half of a CRLF, but either way the line is over: do not wait for the next read.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [E(data="a")]
    assert decoder.feed(b"data: b\n\r") == [E(data="b")]


def test_only_one_lf_after_a_cr_is_swallowed() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []  # an empty read changes nothing
    assert decoder.feed(b"\n\n") == [E(data="a")]


def test_lf_after_cr_is_swallowed_only_right_after_it() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"data: b\n") == []  # a new line: "data: b"
    assert decoder.feed(b"\n") == [E(data="a\nb")]


def test_no_other_line_separators() -> None:
    # str.splitlines() would split on all of these, tearing JSON apart.
    separators = "\u2028\u2029\u0085\x0b\x0c\x1c"
    stream = f'data: {{"s": "{separators}"}}\n\n'.encode()
    assert_split_independent(stream, [E(data=f'{{"s": "{separators}"}}')])


# -- R1: UTF-8 and the byte order mark -----------------------------------------------------------


def test_bom_is_dropped() -> None:
    assert_split_independent(b"\xef\xbb\xbfdata: a\n\n", [E(data="a")])


def test_only_the_first_bom_is_dropped() -> None:
    # The second BOM is part of the field name, which is then unknown.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [E(data="b")]


def test_bom_after_the_start_of_the_stream_is_kept() -> None:
    assert decode(b"\n\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [E(data="b")]
    assert decode(b"data: \xef\xbb\xbfa\n\n") == [E(data="\ufeffa")]


@pytest.mark.parametrize("char", ["é", "€", "🙂"])
def test_multibyte_character_split_at_every_byte(char: str) -> None:
    assert_split_independent(f"data: {char}{char}\n\n".encode(), [E(data=char * 2)])


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"\xff", "\ufffd"),
        (b"a\xc3", "a\ufffd"),  # truncated at the end of the line
        (b"\xe2\x82", "\ufffd"),
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),  # a surrogate: not UTF-8
        (b"\xc3(", "\ufffd("),
    ],
)
def test_invalid_utf8_becomes_replacement_characters(raw: bytes, text: str) -> None:
    assert raw.decode("utf-8", "replace") == text
    assert_split_independent(b"data: " + raw + b"\n\n", [E(data=text)])


def test_invalid_utf8_in_event_type_and_id() -> None:
    stream = b"event: x\xff\nid: \xc3\ndata: a\n\n"
    assert decode(stream) == [E(event="x\ufffd", data="a", id="\ufffd")]


# -- R3, R4: blank lines and comments -------------------------------------------------------------


def test_blank_line_dispatches() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [E(data="a")]


def test_comments_are_ignored() -> None:
    stream = b": hello\ndata: a\n:data: b\n: \n:\n\n"
    assert_split_independent(stream, [E(data="a")])


def test_keep_alive_comments_make_no_events() -> None:
    assert decode(b": keep-alive\n\n: keep-alive\n\n\n\n") == []


# -- R5, R6: fields ------------------------------------------------------------------------------


def test_field_without_colon_has_an_empty_value() -> None:
    assert decode(b"data\n\n") == [E(data="")]
    assert decode(b"event\ndata: a\n\n") == [E(data="a")]


def test_one_space_after_the_colon_is_dropped() -> None:
    assert decode(b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\n") == [
        E(data="a"),
        E(data="a"),
        E(data=" a"),
        E(data="\ta"),
    ]


def test_value_is_split_at_the_first_colon_only() -> None:
    assert decode(b"data: a: b:c\n\n") == [E(data="a: b:c")]


@pytest.mark.parametrize("line", [b"foo: a", b"Data: a", b"DATA: a", b"data : a", b" data: a"])
def test_unknown_fields_are_ignored(line: bytes) -> None:
    assert decode(line + b"\ndata: b\n\n") == [E(data="b")]


# -- R7: data, event, id, retry ------------------------------------------------------------------


def test_data_lines_are_joined_with_lf() -> None:
    assert decode(b"data: a\ndata:\ndata: b\n\n") == [E(data="a\n\nb")]


def test_event_type() -> None:
    assert decode(b"event: ping\ndata: a\n\n") == [E(event="ping", data="a")]
    assert decode(b"event:\ndata: a\n\n") == [E(data="a")]  # empty type → "message"


def test_event_type_resets_after_each_block() -> None:
    # Also after a block that dispatched nothing (spec: both buffers are reset).
    assert decode(b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n") == [
        E(event="a", data="1"),
        E(data="2"),
        E(data="3"),
    ]


def test_id_is_sticky() -> None:
    stream = b"id: 1\ndata: a\n\ndata: b\n\ndata: c\nid: 2\n\nid\ndata: d\n\n"
    assert decode(stream) == [
        E(data="a", id="1"),
        E(data="b", id="1"),
        E(data="c", id="2"),  # an id after the data of the same block counts
        E(data="d", id=""),  # an empty id resets it
    ]


def test_id_containing_nul_is_ignored() -> None:
    assert decode(b"id: 1\n\nid: 2\x003\ndata: a\n\n") == [E(data="a", id="1")]


def test_decoder_reports_last_event_id_and_retry_without_events() -> None:
    decoder = SSEDecoder()
    assert (decoder.last_event_id, decoder.retry) == (None, None)
    assert decoder.feed(b"id: 7\nretry: 3000\n\n") == []
    assert (decoder.last_event_id, decoder.retry) == ("7", 3000)


def test_retry() -> None:
    assert decode(b"retry: 3000\ndata: a\n\ndata: b\n\nretry: 007\ndata: c\n\n") == [
        E(data="a", retry=3000),
        E(data="b", retry=3000),  # sticky: it is the stream's reconnection time
        E(data="c", retry=7),
    ]


@pytest.mark.parametrize(
    "value",
    ["+5", "-5", " 7", "7 ", "1_0", "1.5", "0x10", "", "\u0663", "\uff15", "\u00b2", "1e3"],
)
def test_retry_takes_ascii_digits_only(value: str) -> None:
    stream = f"retry: 1\n\nretry: {value}\ndata: a\n\n".encode()
    assert decode(stream) == [E(data="a", retry=1)]


def test_retry_too_long_for_int_is_ignored_not_raised() -> None:
    assert decode(b"retry: " + b"9" * 10_000 + b"\ndata: a\n\n") == [E(data="a")]


# -- R8: which blocks dispatch -------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [b"\n", b": keep-alive\n\n", b"event: ping\n\n", b"retry: 3000\n\n", b"id: 2\n\n", b"foo\n\n"],
)
def test_block_without_data_is_not_dispatched(block: bytes) -> None:
    assert decode(block) == []


def test_sticky_id_does_not_turn_keep_alives_into_events() -> None:
    # openai-python and httpx-sse (issue #35) dispatch an empty event here once an id was seen.
    stream = b"id: 1\ndata: a\n\n: keep-alive\n\n\n\n: ping\n\ndata: b\n\n"
    assert_split_independent(stream, [E(data="a", id="1"), E(data="b", id="1")])


def test_empty_data_field_is_an_event() -> None:
    assert decode(b"data:\n\n") == [E(data="")]
    assert decode(b"data\n\n") == [E(data="")]


# -- R9 and close() ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream", [b"data: a\n\ndata: b\n", b"data: a\n\ndata: b", b"data: a\n\ndata: b\r"]
)
def test_unfinished_event_at_end_of_input_is_discarded(stream: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(stream) == [E(data="a")]
    assert decoder.close() == []


def test_feed_after_close_raises() -> None:
    decoder = SSEDecoder()
    decoder.close()
    with pytest.raises(SSEError, match="after close"):
        decoder.feed(b"data: a\n\n")
    assert decoder.close() == []  # closing twice is harmless


# -- the spec's own examples ---------------------------------------------------------------------


def test_spec_example_stock() -> None:
    assert_split_independent(b"data: YHOO\ndata: +2\ndata: 10\n\n", [E(data="YHOO\n+2\n10")])


def test_spec_example_test_stream() -> None:
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    expected = [
        E(data="first event", id="1"),
        E(data="second event", id=""),
        E(data=" third event", id=""),
    ]
    assert_split_independent(stream, expected)


def test_spec_example_empty_data() -> None:
    # The last block is not followed by a blank line: discarded.
    assert_split_independent(b"data\n\ndata\ndata\n\ndata:", [E(data=""), E(data="\n")])


def test_spec_example_space_after_colon_is_optional() -> None:
    assert_split_independent(b"data:test\n\ndata: test\n\n", [E(data="test"), E(data="test")])


# -- every split ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(OPENAI_STREAM, id="openai"),
        pytest.param(OPENAI_STREAM.replace(b"\n", b"\r\n"), id="openai-crlf"),
        pytest.param(OPENAI_STREAM.replace(b"\n", b"\r"), id="openai-cr"),
        pytest.param(b"\xef\xbb\xbf" + OPENAI_STREAM, id="openai-bom"),
        pytest.param(
            b'event: message_start\r\nid: 9\r\ndata: {"a":\r\ndata: "\xc3\xa9\xff"}\n\r\n'
            b"retry: 10\rdata\r\r: c\r\nid: 1\x00\n\ndata: \xf0\x9f\x99\x82\n\r",
            id="mixed",
        ),
    ],
)
def test_every_split_gives_the_same_events(stream: bytes) -> None:
    expected = _reference_decode(stream)
    assert expected  # the stream does make events
    assert_split_independent(stream, expected)


def test_openai_stream_events() -> None:
    events = decode(OPENAI_STREAM)
    assert len(events) == 6
    assert '"content":"Zoë 🙂"' in events[3].data
    assert events[-1] == E(data="[DONE]")


# -- the caps ------------------------------------------------------------------------------------


def test_endless_line_raises_past_the_cap() -> None:
    decoder = SSEDecoder(max_line_bytes=1000)
    chunk = b"x" * 100
    for _ in range(10):
        assert decoder.feed(chunk) == []  # exactly at the cap: still fine
    with pytest.raises(SSELimitError, match="max_line_bytes=1000") as info:
        decoder.feed(b"x")
    assert info.value.limit == 1000
    assert "max_line_bytes=..." in str(info.value)  # says how to raise it
    with pytest.raises(SSEError, match="after close"):
        decoder.feed(b"\n\n")


def test_endless_line_memory_stays_within_the_cap() -> None:
    cap = 1024 * 1024
    chunk = b"data: " + b"x" * (64 * 1024)
    decoder = SSEDecoder(max_line_bytes=cap)
    tracemalloc.start()
    try:
        with pytest.raises(SSELimitError):  # noqa: PT012
            for _ in range(64):  # 4 MiB if nothing stopped it
                decoder.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < cap + cap // 4


def test_endless_line_fed_byte_by_byte_stays_within_the_cap() -> None:
    # One object per piece would cost ~40 bytes per byte fed.
    cap = 16 * 1024
    decoder = SSEDecoder(max_line_bytes=cap)
    pieces = [bytes([b]) for b in range(32, 127)]  # no line breaks
    tracemalloc.start()
    try:
        with pytest.raises(SSELimitError):  # noqa: PT012
            for i in range(2 * cap):
                decoder.feed(pieces[i % len(pieces)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * cap


def test_long_complete_line_raises_however_it_is_fed() -> None:
    stream = b"data: a\n\n: " + b"x" * 100 + b"\n\ndata: b\n\n"
    for chunks in (
        [stream],
        [stream[:60], stream[60:]],
        [stream[i : i + 1] for i in range(len(stream))],
    ):
        decoder = SSEDecoder(max_line_bytes=50)
        events: list[ServerSentEvent] = []
        with pytest.raises(SSELimitError, match="max_line_bytes=50"):  # noqa: PT012
            for chunk in chunks:
                events += decoder.feed(chunk)
            decoder.close()
        assert events == [E(data="a")]


def test_events_before_the_error_are_returned_first() -> None:
    decoder = SSEDecoder(max_line_bytes=50)
    assert decoder.feed(b"data: a\n\ndata: " + b"x" * 100) == [E(data="a")]
    with pytest.raises(SSELimitError):
        decoder.feed(b"\n\n")
    with pytest.raises(SSEError, match="after close"):
        decoder.feed(b"\n\n")


def test_deferred_error_is_raised_by_close() -> None:
    decoder = SSEDecoder(max_line_bytes=50)
    assert decoder.feed(b"data: a\n\n" + b"x" * 100) == [E(data="a")]
    with pytest.raises(SSELimitError):
        decoder.close()
    assert decoder.close() == []


def test_event_data_cap() -> None:
    assert decode(b"data: 12345\ndata: 1234\n\n", max_event_bytes=10) == [E(data="12345\n1234")]
    decoder = SSEDecoder(max_event_bytes=10)
    with pytest.raises(SSELimitError, match="max_event_bytes=10") as info:
        decoder.feed(b"data: 12345\ndata: 12345\n\n")
    assert info.value.limit == 10
    assert "max_event_bytes=..." in str(info.value)


def test_event_data_cap_counts_per_event() -> None:
    stream = b"data: 1234567890\n\n" * 100
    assert decode(stream, max_event_bytes=10) == [E(data="1234567890")] * 100


def test_many_tiny_data_lines_are_capped_by_size() -> None:
    cap = 256 * 1024
    with pytest.raises(SSELimitError, match="max_event_bytes"):
        decode(b"data:x\n" * cap, max_event_bytes=cap)


def test_default_caps_are_generous() -> None:
    big = b"x" * (4 * 1024 * 1024)
    [event] = decode(b"data: " + big + b"\n\n")
    assert len(event.data) == len(big)


@pytest.mark.parametrize("option", ["max_line_bytes", "max_event_bytes"])
def test_caps_must_be_positive(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        SSEDecoder(**{option: 0})


# -- properties ----------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_terminator = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def _serialised_events(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """Events, written out with arbitrary terminators and noise, and what they must decode to."""
    out: list[bytes] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    retry: int | None = None

    def line(content: bytes) -> None:
        terminator = draw(_terminator)
        if not content and out and out[-1].endswith(b"\r") and terminator == b"\n":
            terminator = b"\r"  # a CR then a lone LF would be one CRLF, not two line breaks
        out.append(content + terminator)

    if draw(st.booleans()):
        out.append(b"\xef\xbb\xbf")
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            line(b":" + draw(_text).encode())  # a comment
        event_type = draw(st.one_of(st.none(), _text))
        if event_type is not None:
            line(b"event: " + event_type.encode())
        new_id = draw(st.one_of(st.none(), _text.filter(lambda s: "\0" not in s)))
        if new_id is not None:
            line(b"id: " + new_id.encode())
            last_id = new_id
        new_retry = draw(st.one_of(st.none(), st.integers(0, 10**12)))
        if new_retry is not None:
            line(b"retry:" + str(new_retry).encode())
            retry = new_retry
        data = draw(st.lists(_text, min_size=1, max_size=3))
        for value in data:
            line(b"data: " + value.encode())
        line(b"")
        expected.append(E(event_type or "message", "\n".join(data), last_id, retry))
    return b"".join(out), expected


@settings(max_examples=100, deadline=None)
@given(_serialised_events(), st.data())
def test_property_events_survive_any_split(
    case: tuple[bytes, list[ServerSentEvent]], data: st.DataObject
) -> None:
    stream, expected = case
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert decode(stream) == expected
    assert decode_chunks(split_at(stream, points)) == expected


_noise = st.lists(
    st.one_of(
        st.sampled_from(
            [
                *(b"data", b"event", b"id", b"retry", b":", b" ", b"\r", b"\n", b"\r\n", b"\x00"),
                *(b"\xef\xbb\xbf", b"\xef", b"\xbb", b"\xc3", b"\xa9", b"\xf0\x9f", b"7", b"x"),
            ]
        ),
        st.binary(max_size=4),
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(_noise, st.data())
def test_property_arbitrary_bytes_match_the_reference(stream: bytes, data: st.DataObject) -> None:
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert decode_chunks(split_at(stream, points)) == _reference_decode(stream)


@settings(max_examples=200, deadline=None)
@given(_noise, st.data(), st.integers(1, 16), st.integers(1, 16))
def test_property_arbitrary_bytes_raise_only_sse_errors(
    stream: bytes, data: st.DataObject, max_line_bytes: int, max_event_bytes: int
) -> None:
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    chunks = split_at(stream, points)
    caps = {"max_line_bytes": max_line_bytes, "max_event_bytes": max_event_bytes}
    outcome = decode_outcome(chunks, **caps)
    # Where the error comes, and which, does not depend on the split either.
    assert outcome == decode_outcome([stream], **caps)
    events, error = outcome
    if error is None:  # nothing was too big, so the caps changed nothing
        assert events == _reference_decode(stream)


def test_an_event_pickles_and_copies_as_itself() -> None:
    # A frozen class compiled by mypyc cannot be unpickled attribute by attribute: __reduce__.
    event = ServerSentEvent("update", '{"a": 1}', "7", 3000)
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.copy(event) == event
    assert copy.deepcopy(event) == event


# -- the whole-event shortcut ----------------------------------------------------------------------

_chunk = st.one_of(
    # The shape the shortcut takes: one data line and its blank line, as servers send each event.
    _text.map(lambda text: b"data: " + text.encode() + b"\n\n"),
    # Shapes next to it that it must leave to the general path.
    _text.map(lambda text: b"data: " + text.encode() + b"\r\n\r\n"),
    _text.map(lambda text: b"data: " + text.encode() + b"\n"),
    _text.map(lambda text: b"data:" + text.encode() + b"\n\n"),
    _text.map(lambda text: b"data: " + text.encode() + b"\ndata: x\n\n"),
    _text.map(lambda text: b"event: " + text.encode() + b"\n"),
    _text.map(lambda text: b"id: " + text.encode() + b"\n"),
    st.integers(0, 99).map(lambda number: b"retry: %d\n" % number),
    st.sampled_from([b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b": keep-alive\n\n", b"data: \r"]),
    _noise,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_chunk, max_size=12), st.integers(1, 24), st.integers(1, 24), st.booleans())
def test_property_whole_events_shortcut_gives_what_the_general_path_gives(
    chunks: list[bytes], max_line_bytes: int, max_event_bytes: int, capped: bool
) -> None:
    caps = {"max_line_bytes": max_line_bytes, "max_event_bytes": max_event_bytes} if capped else {}
    fast = decode_outcome(chunks, **caps)
    assert fast == decode_outcome(chunks, whole_events=False, **caps)
    if fast[1] is None:
        assert fast[0] == _reference_decode(b"".join(chunks))


def test_whole_events_shortcut_keeps_the_stream_state() -> None:
    # A type, an id and a retry set by earlier reads; the BOM of the first read; a cap reached
    # exactly and passed by one byte, by an event in the shortcut's shape.
    chunks = [
        b"\xef\xbb\xbfdata: first\n\n",
        b"event: update\nid: 7\nretry: 50\n",
        b"data: typed\n\n",
        b"data: plain\n\n",
        b"data: 12345678\n\n",
        b"data: 123456789\n\n",
    ]
    for whole_events in (True, False):
        assert decode_outcome(chunks, max_event_bytes=8, whole_events=whole_events) == (
            [
                E(data="first"),
                E("update", "typed", "7", 50),
                E("message", "plain", "7", 50),
                E("message", "12345678", "7", 50),
            ],
            (SSELimitError, 8),
        )
