"""ChunkDecoder.decode_data (a learnt envelope around a new string, no json.loads) gives, event for
event, what json.loads + decode_text / decode_other give: the lockstep property, on envelopes that
change, strings with every escape, and data that is not JSON or not the same shape."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamstruct import APIError
from streamstruct._core._wire import ChunkDecoder

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Envelopes as servers write them, "{}" standing for the string literal: compact (OpenAI), spaced,
# with keys after the string, a role beside it, another call index, fields a server adds, and a
# second "content" key elsewhere in the chunk (where the probe must refuse the envelope).
ENVELOPES = [
    '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":{}},'
    '"logprobs":null,"finish_reason":null}],"usage":null}',
    '{"id": "c1", "choices": [ {"index": 0, "delta": {"content" : {} }, "finish_reason": null} ]}',
    '{"choices":[{"index":0,"delta":{"role":"assistant","content":{}}}]}',
    '{"choices":[{"index":0,"delta":{"content":{},"role":"assistant"}}],"usage":null}',
    '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{}}}]}}]}',
    '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":{}}}]}}]}',
    '{"choices":[{"delta":{"tool_calls":[{"index":0,"type":"function","function":{"arguments":{}}}]}}]}',
    '{"choices":[{"index":0,"delta":{"content":{}}}],"meta":{"content":"a"}}',
    '{"choices":[{"index":0,"delta":{"content":{}}}],"usage":{"total_tokens":3}}',
    '{"choices":[{"index":0,"delta":{"content":{}},"finish_reason":"stop"}]}',
    '{"choices":[{"index":0,"delta":{"content":{},"content":"last"}}]}',
    '{"choices":[{"index":0,"delta":{"content":"first","content":{}}}]}',
    '{"error":{"message":{}}}',
    # OpenAI's padding, a random string in every chunk ("<pad>" stands for its literal), in places
    # where it is the top level's and where it is not.
    '{"choices":[{"index":0,"delta":{"content":{}},"finish_reason":null}],"obfuscation":<pad>}',
    '{"choices":[{"index":0,"delta":{"content":{}}}],"obfuscation":<pad>,"usage":null}',
    '{"choices":[{"index":0,"delta":{"content":{}},"obfuscation":<pad>}]}',
    '{"choices":[{"index":0,"delta":{"content":{}}}],"object":<pad>,"obfuscation":"x"}',
    '{"choices":[{"index":0,"delta":{"content":{}}}],"x":{"obfuscation":<pad>}}',
    # The padding before the text, and between the id and the text: read by the general loop.
    '{"obfuscation":<pad>,"choices":[{"index":0,"delta":{"content":{}}}]}',
    '{"id":"c1","obfuscation":<pad>,"choices":[{"index":0,"delta":{"tool_calls":'
    '[{"index":0,"function":{"arguments":{}}}]}}]}',
]
SPECIAL_CHARS = '"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é中😀\U0010ffff\ud800\udc00'
texts = st.text(st.characters() | st.sampled_from(SPECIAL_CHARS), max_size=8)
# What may stand where the string was besides a string: broken escapes, raw controls, two
# strings, other values, an unterminated string, a string that eats the closing brace.
BROKEN = ['"a\\q"', '"a\x01"', '"a" "b"', '"a","b"', "3", "null", '"a', '"a\\"', '"\\ud800"', '""']
strings = st.tuples(texts, st.booleans()).map(lambda t: json.dumps(t[0], ensure_ascii=t[1]))
literals = st.one_of(
    strings, strings, strings, st.sampled_from([*BROKEN, "'a'", '"a"x', '"a"}', '"a" '])
)
events = st.sampled_from([None, None, None, None, "message", "error"])


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, str | None]]:
    """A stream mostly in one envelope (as servers send it), with others between."""
    main = draw(st.sampled_from(ENVELOPES))
    envelopes = st.sampled_from([*[main] * len(ENVELOPES), *ENVELOPES])
    items = draw(
        st.lists(st.tuples(envelopes, literals, literals, events), min_size=1, max_size=30)
    )
    return [
        (envelope.replace("{}", literal, 1).replace("<pad>", pad), event)
        for envelope, literal, pad, event in items
    ]


def _plain(decoder: ChunkDecoder, data: str, event: str | None) -> object:
    """What the reader did before: json.loads, then decode_text or decode_other."""
    try:
        chunk = json.loads(data)
    except ValueError:
        return "not JSON"
    try:
        text = decoder.decode_text(chunk, event)
        return text if text is not None else decoder.decode_other(chunk, event=event)
    except APIError as error:
        return str(error)


def _with_envelopes(decoder: ChunkDecoder, data: str, event: str | None) -> object:
    """What the reader does now (ResponseReader.feed and _decode_chunk)."""
    text = decoder.decode_data(data, event)
    if text is not None:
        return text
    try:
        chunk = json.loads(data)
    except ValueError:
        return "not JSON"
    try:
        text = decoder.decode_text(chunk, event)
        if text is None:
            return decoder.decode_other(chunk, event=event)
    except APIError as error:
        return str(error)
    decoder.learn(data, event, chunk)
    return text


@SETTINGS
@given(streams())
def test_decoding_with_envelopes_agrees_with_json_loads_event_for_event(
    stream: list[tuple[str, str | None]],
) -> None:
    fast, plain = ChunkDecoder(), ChunkDecoder()
    for data, event in stream:
        assert _with_envelopes(fast, data, event) == _plain(plain, data, event), data
    # ...and the tool-call bookkeeping after it is the same.
    follow = '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"z"}}]}}]}'
    assert _with_envelopes(fast, follow, None) == _plain(plain, follow, None)


def _content(literal: str) -> str:
    return ENVELOPES[0].replace("{}", literal)


def test_a_stream_in_one_envelope_is_decoded_without_json_loads() -> None:
    decoder = ChunkDecoder()
    first = _content('"{\\"a\\""')
    assert decoder.decode_data(first, None) is None  # nothing learnt yet
    decoder.learn(first, None, json.loads(first))
    for literal, text in [('":1,"', ":1,"), ('"\\u00e9\\n"', "é\n"), ('""', "")]:
        assert decoder.decode_data(_content(literal), None) == (None, text)
    assert decoder.decode_data(_content('"a\x01"'), None) is None  # json.loads refuses it too
    assert decoder.decode_data(_content('"a" '), None) is None  # not the envelope's tail
    assert decoder.decode_data(_content('"a"'), "message") is None  # another event name


def test_a_tool_call_envelope_keeps_the_call_bookkeeping() -> None:
    decoder = ChunkDecoder()
    fragment = ENVELOPES[5].replace("{}", '"{"')  # call index 1
    decoder.learn(fragment, None, json.loads(fragment))
    assert decoder.decode_data(ENVELOPES[5].replace("{}", '"}"'), None) == (1, "}")


def test_an_envelope_whose_string_is_not_the_text_is_not_learnt() -> None:
    # The last "content" key is not the delta's: the probe comes back as something else.
    decoder = ChunkDecoder()
    data = ENVELOPES[7].replace("{}", '"a"')
    decoder.learn(data, None, json.loads(data))
    assert decoder.decode_data(ENVELOPES[7].replace("{}", '"b"'), None) is None


def _numbered(number: int) -> str:
    chunk = {"choices": [{"index": 0, "delta": {"content": "a"}}], "n": number}
    return json.dumps(chunk, separators=(",", ":"))


def test_envelopes_are_given_up_when_no_chunk_reuses_them() -> None:
    decoder = ChunkDecoder()
    for number in range(4):  # a server that varies every envelope (a counter, random padding)
        data = _numbered(number)
        assert decoder.decode_data(data, None) is None
        decoder.learn(data, None, json.loads(data))
    data = _numbered(4)
    decoder.learn(data, None, json.loads(data))  # four went unused in a row: not learnt
    assert decoder.decode_data(data, None) is None
    fresh = ChunkDecoder()
    fresh.learn(data, None, json.loads(data))
    assert fresh.decode_data(data, None) == (None, "a")


def test_a_reused_envelope_keeps_learning_on() -> None:
    decoder = ChunkDecoder()
    for number in range(8):
        data = _numbered(number)
        decoder.learn(data, None, json.loads(data))
        assert decoder.decode_data(data, None) == (None, "a")


def test_openai_padding_does_not_stop_the_envelope_from_being_reused() -> None:
    decoder = ChunkDecoder()
    envelope = ENVELOPES[13]
    first = envelope.replace("{}", '"{"').replace("<pad>", '"D3WbtIxo1Q2j1Q"')
    decoder.learn(first, None, json.loads(first))
    for text, pad in [("a", "Zarov0xJhP"), ("\n", ""), ("}", "\u00e9")]:
        data = envelope.replace("{}", json.dumps(text)).replace("<pad>", json.dumps(pad))
        assert decoder.decode_data(data, None) == (None, text)
    broken = envelope.replace("{}", '"a"').replace("<pad>", '"a\\q"')
    assert decoder.decode_data(broken, None) is None  # json.loads refuses it too


def test_a_padding_that_is_not_the_top_levels_is_not_skipped() -> None:
    for envelope in ENVELOPES[15:18]:  # in a choice, beside "object" (read), in another object
        decoder = ChunkDecoder()
        data = envelope.replace("{}", '"a"').replace("<pad>", '"p"')
        decoder.learn(data, None, json.loads(data))
        other = envelope.replace("{}", '"b"').replace("<pad>", '"error"')
        assert decoder.decode_data(other, None) is None
