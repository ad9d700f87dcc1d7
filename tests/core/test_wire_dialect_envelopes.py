"""The Responses and Anthropic decoders' envelopes (decode_data: a learnt envelope around a new
string, no json.loads) give, event for event, what the plain path gives (JSONEventDecoder with
``envelopes=False``: json.loads + decode), and leave the decoders' state as it leaves it: on every
recording and simulator stream under every split, and on generated streams whose envelopes change,
whose strings hold every escape and whose counters are of any width or not integers at all."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamstruct import StreamStructError
from streamstruct._core._decoding import JSONEventDecoder
from streamstruct._core._envelope import learn_envelope
from streamstruct._core._sse import SSEDecoder
from streamstruct._core._updates import ChunkUpdate, ToolCallDelta
from streamstruct._core._wire_anthropic import AnthropicDecoder
from streamstruct._core._wire_responses import ResponsesDecoder
from streamstruct.testing._dialects import (
    PlannedCall,
    PlannedError,
    PlannedReply,
    render_anthropic,
    render_responses,
)

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
DECODERS: dict[str, type[ResponsesDecoder] | type[AnthropicDecoder]] = {
    "responses": ResponsesDecoder,
    "anthropic": AnthropicDecoder,
}
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Run:
    """One stream decoded twice, the envelopes on and off, event for event."""

    def __init__(self, dialect: str) -> None:
        self.fast_decoder = DECODERS[dialect]()
        self.plain_decoder = DECODERS[dialect]()
        self.fast = JSONEventDecoder(self.fast_decoder, incomplete_reasons=frozenset())
        self.plain = JSONEventDecoder(
            self.plain_decoder, incomplete_reasons=frozenset(), envelopes=False
        )
        self.shortcuts = 0  # events the fast path took

    def event(self, data: str, event: str | None) -> None:
        fast = self._outcome(self.fast, data, event)
        plain = self._outcome(self.plain, data, event)
        assert fast == plain, data
        assert _state(self.fast_decoder) == _state(self.plain_decoder), data

    def _outcome(self, decoder: JSONEventDecoder, data: str, event: str | None) -> object:
        try:
            update = decoder.decode_event(data, event)
        except StreamStructError as error:
            return str(error)
        except ValueError:
            return "not JSON"
        if type(update) is not tuple:
            return update
        assert decoder is self.fast  # the plain path gives ChunkUpdates only
        self.shortcuts += 1
        key, text = update
        if key is None:
            return ChunkUpdate(content=text)
        return ChunkUpdate(tool_calls=(ToolCallDelta(key, None, None, text),))


def _state(decoder: ResponsesDecoder | AnthropicDecoder) -> object:
    """The bookkeeping decode keeps (the envelope aside)."""
    if isinstance(decoder, ResponsesDecoder):
        return (decoder._by_item, decoder._commentary, decoder._with_text, decoder._done)
    tools = {index: (tool.sent, tool.start_input) for index, tool in decoder._tools.items()}
    return (decoder._blocks, tools, decoder._input_counts)


def _events(body: bytes, chunks: list[bytes]) -> list[tuple[str, str | None]]:
    sse = SSEDecoder()
    events = [event for chunk in chunks for event in sse.feed(chunk)] + sse.close()
    assert b"".join(chunks) == body
    return [(event.data, event.event) for event in events]


def _splits(body: bytes, seed: int) -> list[list[bytes]]:
    """Whole, one byte at a time, and at random split points."""
    rng = random.Random(seed)
    out = [[body], [body[at : at + 1] for at in range(len(body))]]
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(1, 40))))
        out.append([body[a:b] for a, b in itertools.pairwise([0, *cuts, len(body)])])
    return out


def _check_stream(dialect: str, body: bytes) -> int:
    """The stream under every split, fast against plain; the events the fast path took."""
    taken = set()
    for chunks in _splits(body, len(body)):
        run = Run(dialect)
        for data, event in _events(body, chunks):
            run.event(data, event)
        taken.add(run.shortcuts)
    assert len(taken) == 1  # the split changes nothing
    return taken.pop()


RECORDED = [
    pytest.param(dialect, path, id=f"{dialect}/{path.name}")
    for dialect in DECODERS
    for path in sorted((RECORDINGS / dialect).glob("*.sse"))
]


@pytest.mark.parametrize(("dialect", "path"), RECORDED)
def test_recordings_decode_the_same_with_envelopes_under_every_split(
    dialect: str, path: Path
) -> None:
    _check_stream(dialect, path.read_bytes())


def test_recordings_with_several_deltas_take_the_fast_path() -> None:
    # Real envelopes (sequence_number last, DeepSeek; compact, Anthropic) are learnt and reused.
    for dialect, name, at_least in [
        ("responses", "deepseek_reasoning_text_function_call.sse", 8),
        ("responses", "function_calls_parallel.sse", 8),
        ("responses", "json_schema_text.sse", 8),
        ("anthropic", "tool_use_parallel.sse", 9),
        ("anthropic", "tool_use.sse", 5),
    ]:
        assert _check_stream(dialect, (RECORDINGS / dialect / name).read_bytes()) >= at_least


PIECES = ('{"na', 'me": "', '\\u00e9\\"', '\\\\", "x', "\n", "😀", '"}')
REPLIES = [
    PlannedReply("m", content=PIECES),
    PlannedReply("m", calls=(PlannedCall("call_1", "f", PIECES),)),
    PlannedReply("m", calls=(PlannedCall("call_1", "f", PIECES), PlannedCall("c2", "g", PIECES))),
    PlannedReply("m", content=PIECES, reasoning=("think", "ing")),
    PlannedReply("m", content=PIECES, cut="length"),
    PlannedReply("m", refusal=("no", "pe")),
    PlannedReply("m", content=PIECES, error=PlannedError(after=3)),
    PlannedReply("m", calls=(PlannedCall("call_1", "f", ("", "{}")),), seed=3),
]


@pytest.mark.parametrize("reply", REPLIES)
@pytest.mark.parametrize("dialect", list(DECODERS))
def test_simulator_streams_decode_the_same_with_envelopes(
    dialect: str, reply: PlannedReply
) -> None:
    render = render_responses if dialect == "responses" else render_anthropic
    body = b"".join(frame for frame, _counts in render(reply))
    taken = _check_stream(dialect, body)
    if reply.error is None:  # all but the first delta of each item (whose envelope is learnt)
        items = [reply.content, *(call.pieces for call in reply.calls)]
        assert taken >= sum(len(pieces) - 1 for pieces in items if pieces)


# -- generated streams ---------------------------------------------------------------------------

SPECIAL_CHARS = '"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é中😀\U0010ffff\ud800\udc00'
texts = st.text(st.characters() | st.sampled_from(SPECIAL_CHARS), max_size=8)
strings = st.tuples(texts, st.booleans()).map(lambda t: json.dumps(t[0], ensure_ascii=t[1]))
BROKEN = ['"a\\q"', '"a\x01"', '"a" "b"', "3", "null", '"a', '"a\\"', '"\\ud800"', '""', '"a"}']
literals = st.one_of(strings, strings, strings, st.sampled_from(BROKEN))
# A counter of any width, and what is not an integer token where one was learnt.
NOT_INTEGERS = ["-3", "1.5", "1e3", "true", "false", "null", "01", '"7"', "-", "[]", "2 "]
small_counters = st.integers(min_value=0, max_value=1000).map(str)
counters = st.one_of(
    small_counters,
    small_counters,
    st.integers(min_value=0, max_value=10**30).map(str),
    st.integers(min_value=-(10**5), max_value=10**5).map(str),
    st.sampled_from(NOT_INTEGERS),
)
indexes = st.sampled_from(["0", "0", "0", "0", "1", "true", '"0"'])

# {t}: the text's literal, {n}: a counter, {p}: a padding string, {i}: an output or block index.
RESPONSES_EVENTS = [
    '{"type":"response.output_text.delta","sequence_number":{n},"item_id":"m","output_index":{i},'
    '"content_index":0,"delta":{t},"logprobs":[]}',
    '{"type":"response.output_text.delta","item_id":"m","output_index":{i},"delta":{t},'
    '"sequence_number":{n},"obfuscation":{p}}',
    '{"type": "response.function_call_arguments.delta", "output_index": {i}, "delta": {t}, '
    '"sequence_number": {n}}',
    '{"type":"response.function_call_arguments.delta","sequence_number":{n},"item_id":"fc",'
    '"delta":{t}}',
    '{"type":"response.output_text.delta","output_index":{i},"delta":{t},"delta":"x",'
    '"sequence_number":{n}}',
    '{"type":"response.output_text.delta","output_index":{i},"delta":{t},"obfuscation":{p},'
    '"x":{"sequence_number":{n}}}',
    '{"type":"response.reasoning_text.delta","output_index":{i},"delta":{t},"sequence_number":{n}}',
    '{"type":"response.refusal.delta","output_index":0,"delta":{t},"sequence_number":{n}}',
]
RESPONSES_ITEMS = [
    '{"type":"response.output_item.added","output_index":{i},"sequence_number":{n},'
    '"item":{"type":"message","id":"m","phase":"commentary"}}',
    '{"type":"response.output_item.added","output_index":{i},"item":{"type":"message","id":"m"}}',
    '{"type":"response.output_item.added","output_index":{i},"item":{"type":"function_call",'
    '"id":"fc","call_id":"c","name":"f","arguments":""}}',
    '{"type":"response.function_call_arguments.done","output_index":{i},"arguments":"{}"}',
    '{"type":"response.output_item.done","output_index":{i},"item":{"type":"function_call"}}',
]
ANTHROPIC_EVENTS = [
    '{"type":"content_block_delta","index":{i},"delta":{"type":"text_delta","text":{t}}}',
    '{"type": "content_block_delta", "index": {i}, "delta": {"type": "input_json_delta", '
    '"partial_json": {t}}}',
    '{"type":"content_block_delta","delta":{"partial_json":{t},"type":"input_json_delta"},'
    '"index":{i}}',
    '{"type":"content_block_delta","index":{i},"delta":{"type":"text_delta","text":{t},'
    '"text":"x"}}',
    '{"type":"content_block_delta","index":{i},"delta":{"type":"thinking_delta","thinking":{t}}}',
    '{"type":"content_block_delta","index":{i},"delta":{"type":"text_delta","text":{t}},'
    '"text":{p}}',
]
ANTHROPIC_ITEMS = [
    '{"type":"content_block_start","index":{i},"content_block":{"type":"text","text":""}}',
    '{"type":"content_block_start","index":{i},"content_block":{"type":"tool_use","id":"t",'
    '"name":"f","input":{}}}',
    '{"type":"content_block_start","index":{i},"content_block":{"type":"thinking"}}',
    '{"type":"content_block_stop","index":{i}}',
    '{"type":"ping"}',
]
names = st.sampled_from([None, None, None, "x", "error"])


def _fill(template: str, text: str, counter: str, pad: str, index: str) -> str:
    return (
        template.replace("{t}", text)
        .replace("{n}", counter)
        .replace("{p}", pad)
        .replace("{i}", index)
    )


def _opening(dialect: str, template: str) -> str:
    """The item or block a delta template belongs in (what a server sends before it)."""
    if dialect == "responses":  # a function call, or a message that is not commentary
        return RESPONSES_ITEMS[2 if "function_call" in template else 1]
    kind = (
        "tool_use" if "input_json" in template else "thinking" if "thinking" in template else "text"
    )
    return next(item for item in ANTHROPIC_ITEMS if f'"type":"{kind}"' in item)


@st.composite
def streams(draw: st.DrawFn, dialect: str) -> list[tuple[str, str | None]]:
    """A stream mostly in one envelope (as servers send it) after the item or block it belongs
    in, with other envelopes, items and blocks (a commentary message, a block of another kind at
    the same index, ...) between."""
    templates, items = (
        (RESPONSES_EVENTS, RESPONSES_ITEMS)
        if dialect == "responses"
        else (ANTHROPIC_EVENTS, ANTHROPIC_ITEMS)
    )
    main = draw(st.sampled_from(templates[:3] * 4 + templates))  # mostly the servers' shapes
    kinds = st.sampled_from([main] * 30 + templates + items * 2)
    index, name = draw(indexes), draw(names)
    some_index = st.sampled_from([index] * 12 + ["0", "1", "true", '"0"'])
    some_name = st.sampled_from([name] * 12 + [None, "x", "error"])
    # Half the streams only vary where servers do (strings, small counters): more envelopes
    # learnt and reused (a decoder gives up on envelopes after a few unused ones in a row).
    calm = draw(st.booleans())
    texts_here = strings if calm else literals
    counters_here = small_counters if calm else counters
    stream = []
    for template in [_opening(dialect, main), *draw(st.lists(kinds, min_size=4, max_size=30))]:
        text, pad = draw(texts_here), draw(texts_here)
        data = _fill(template, text, draw(counters_here), pad, draw(some_index))
        stream.append((data, draw(some_name)))
    return stream


@SETTINGS
@given(streams("responses"))
def test_responses_envelopes_agree_with_the_plain_path(
    stream: list[tuple[str, str | None]],
) -> None:
    run = Run("responses")
    for data, event in stream:
        run.event(data, event)


@SETTINGS
@given(streams("anthropic"))
def test_anthropic_envelopes_agree_with_the_plain_path(
    stream: list[tuple[str, str | None]],
) -> None:
    run = Run("anthropic")
    for data, event in stream:
        run.event(data, event)


# -- the cases, one by one -----------------------------------------------------------------------


def _text_delta(text: str, number: int | str, index: int = 0) -> str:
    return (
        f'{{"type":"response.output_text.delta","sequence_number":{number},"item_id":"m",'
        f'"output_index":{index},"delta":{json.dumps(text)},"obfuscation":"Zx{number}"}}'
    )


def test_a_responses_stream_skips_json_loads_with_any_counter_and_padding() -> None:
    decoder = ResponsesDecoder()
    first = _text_delta("{", 1)
    decoder.learn(first, None, json.loads(first))
    for number in (2, 10, 123456789012345678, 0):
        assert decoder.decode_data(_text_delta('"\\é', number), None) == (None, '"\\é')
    for number in ("1234567890123456789", "-1", "1.0", "true", "01"):
        assert decoder.decode_data(_text_delta("a", 0).replace(":0,", f":{number},", 1), None) is (
            None
        ), number


def test_a_commentary_message_never_takes_the_fast_path_as_content() -> None:
    decoder = ResponsesDecoder()
    first = _text_delta("{", 1, index=1)
    decoder.learn(first, None, json.loads(first))
    assert decoder.decode_data(_text_delta("a", 2, index=1), None) == (None, "a")
    added = {"type": "response.output_item.added", "output_index": 1}
    decoder.decode({**added, "item": {"type": "message", "phase": "commentary"}})
    assert decoder.decode_data(_text_delta("b", 3, index=1), None) is None
    update = decoder.decode(json.loads(_text_delta("b", 3, index=1)))
    assert update == ChunkUpdate(reasoning="b")


def test_an_arguments_envelope_marks_its_call_as_having_text() -> None:
    decoder = ResponsesDecoder()
    data = '{"type":"response.function_call_arguments.delta","output_index":2,"delta":""}'
    decoder.learn(data, None, json.loads(data))
    assert decoder.decode_data(data, None) == (2, "")
    assert 2 not in decoder._with_text  # "" is no text, as decode has it
    assert decoder.decode_data(data.replace('""', '"{"'), None) == (2, "{")
    assert 2 in decoder._with_text


def test_an_anthropic_envelope_follows_the_block_at_its_index() -> None:
    decoder = AnthropicDecoder()
    start = {"type": "content_block_start", "index": 0}
    decoder.decode({**start, "content_block": {"type": "tool_use", "id": "t", "name": "f"}})
    data = '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}'
    decoder.learn(data, None, json.loads(data))
    assert decoder.decode_data(data.replace('""', '"{\\"a"'), None) == (0, '{"a')
    assert decoder._tools[0].sent
    decoder.decode({**start, "content_block": {"type": "text"}})  # another block at index 0
    assert decoder.decode_data(data, None) is None  # decode says: nothing for a text block
    text = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}'
    decoder.learn(text, None, json.loads(text))
    assert decoder.decode_data(text, None) == (None, "a")
    decoder.decode({**start, "content_block": {"type": "thinking"}})
    assert decoder.decode_data(text, None) is None  # not the answer: decode says nothing


def test_an_envelope_whose_holes_are_not_the_fields_is_not_learnt() -> None:
    # The text's key is repeated in a nested object after it: the probe lands elsewhere.
    data = '{"type":"t","delta":"a","x":{"delta":"a"}}'
    assert learn_envelope(data, None, json.loads(data), ("delta",)) is None
    # The counter is named in a nested object only: no top-level counter, no hole for it.
    data = '{"type":"t","delta":"a","x":{"sequence_number":1}}'
    envelope = learn_envelope(
        data, None, json.loads(data), ("delta",), counters=("sequence_number",)
    )
    assert envelope is not None
    assert envelope.text_of(data.replace(":1}", ":2}"), None) is None
    # The same string twice: the last one is the text (json.loads keeps the last key).
    data = '{"delta":"a","delta":"a"}'
    envelope = learn_envelope(data, None, json.loads(data), ("delta",))
    assert envelope is not None
    assert envelope.text_of('{"delta":"a","delta":"b"}', None) == "b"
    assert envelope.text_of('{"delta":"b","delta":"b"}', None) is None


@SETTINGS
@given(
    st.lists(st.tuples(texts, st.integers(0, 10**6)), min_size=4, max_size=12),
    st.integers(0, 11),
    st.sampled_from([0, 1]),
    st.sampled_from(RESPONSES_EVENTS[:3]),
)
def test_a_message_that_turns_commentary_mid_stream_is_decoded_as_the_plain_path_does(
    deltas: list[tuple[str, int]], at: int, index: int, template: str
) -> None:
    # The item at output_index 0 is announced again, now as commentary, part way through: its
    # deltas are reasoning from then on (a function call's deltas are not affected).
    run = Run("responses")
    run.event(
        _fill(RESPONSES_ITEMS[2 if "function_call" in template else 1], "", "", "", "0"), None
    )
    for position, (text, number) in enumerate(deltas):
        if position == at:
            run.event(_fill(RESPONSES_ITEMS[0], "", str(number), "", str(index)), None)
        run.event(_fill(template, json.dumps(text), str(number), '"pad"', "0"), None)
    assert run.shortcuts >= min(at, len(deltas)) - 1
