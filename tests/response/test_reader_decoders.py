"""The response reader driven by other wire formats' decoders (recordings in tests/recordings/).

:class:`~streamstruct._response._reader.ResponseReader` takes normalised updates from the
:class:`~streamstruct._core._decoding.EventDecoder` it is given: a wire format is one decoder, and the
reader does the rest (the JSON source, the parser, the model side, the ending). Each recording is
fed whole, one byte at a time and at random split points; the answer must not depend on the split.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import streamstruct
from streamstruct._core._decoding import ChatEventDecoder, EventDecoder, JSONEventDecoder
from streamstruct._core._wire import ChunkDecoder, parse_completion
from streamstruct._core._wire_anthropic import INCOMPLETE_REASONS as ANTHROPIC_INCOMPLETE
from streamstruct._core._wire_anthropic import AnthropicDecoder
from streamstruct._core._wire_responses import INCOMPLETE_REASONS as RESPONSES_INCOMPLETE
from streamstruct._core._wire_responses import ResponsesDecoder
from streamstruct._request._dialects import Api, dialect
from streamstruct._request._modes import plan_request
from streamstruct._response._partial_reader import PartialReader
from streamstruct._response._reader import IterableReader, ResponseReader

RECORDINGS = Path(__file__).parent.parent / "recordings"
MESSAGES = [{"role": "user", "content": "x"}]


class Element(BaseModel):
    location: str
    temperature: int
    condition: str


class Weather(BaseModel):
    elements: list[Element]


class Capital(BaseModel):
    city: str
    country: str


class Country(BaseModel):
    country: str


def anthropic() -> EventDecoder:
    return JSONEventDecoder(AnthropicDecoder(), incomplete_reasons=ANTHROPIC_INCOMPLETE)


def responses() -> EventDecoder:
    return JSONEventDecoder(ResponsesDecoder(), incomplete_reasons=RESPONSES_INCOMPLETE)


def splits(body: bytes) -> Iterator[list[bytes]]:
    """The body whole, one byte at a time, and cut at random points (seeded)."""
    yield [body]
    yield [body[i : i + 1] for i in range(len(body))]
    rng = random.Random(13)
    for _ in range(5):
        points = sorted(rng.sample(range(1, len(body)), 7))
        yield [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def read(reader: ResponseReader, pieces: Iterable[bytes]) -> tuple[list[Any], Any]:
    outputs: list[Any] = []
    for piece in pieces:
        outputs += reader.feed(piece)
    final = reader.finish()
    return outputs + reader.final_outputs, final


def recording(dialect: str, name: str) -> bytes:
    return (RECORDINGS / dialect / name).read_bytes()


def test_an_anthropic_tool_call_becomes_the_model_on_every_split() -> None:
    body = recording("anthropic", "json_tool.sse")
    for pieces in splits(body):
        plan = plan_request(Weather, MESSAGES, mode="tools")
        reader = PartialReader(plan, decoder=anthropic())
        outputs, final = read(reader, pieces)
        assert final == Weather(
            elements=[Element(location="San Francisco", temperature=58, condition="sunny")]
        )
        assert outputs, "snapshots were yielded on the way"
        assert reader.finish_reason == "tool_use"
        assert reader.usage is not None
        assert reader.usage.completion_tokens > 0


def test_a_responses_json_schema_text_becomes_the_model_on_every_split() -> None:
    body = recording("responses", "json_schema_text.sse")
    for pieces in splits(body):
        reader = PartialReader(
            plan_request(Capital, MESSAGES, mode="json_schema"), decoder=responses()
        )
        _, final = read(reader, pieces)
        assert final == Capital(city="Paris", country="France")
        assert reader.text == '{"city":"Paris","country":"France"}'


def test_parallel_responses_function_calls_are_items_on_every_split() -> None:
    body = recording("responses", "function_calls_parallel.sse")
    for pieces in splits(body):
        reader = IterableReader(
            plan_request(Iterable[Country], MESSAGES, mode="tools"), decoder=responses()
        )
        outputs, final = read(reader, pieces)
        assert final == [Country(country="France"), Country(country="Italy")]
        assert outputs == final


def test_the_decoder_says_which_finish_reasons_mean_cut_short() -> None:
    # Anthropic's "max_tokens" is chat's "length": the reader asks the decoder, not a table of its own.
    body = recording("anthropic", "max_tokens_tool_use.sse")
    reader = PartialReader(plan_request(Weather, MESSAGES, mode="tools"), decoder=anthropic())
    with pytest.raises(streamstruct.IncompleteOutputError) as caught:
        read(reader, [body])
    assert caught.value.finish_reason == "max_tokens"
    assert caught.value.text  # the tool call's text so far


def test_an_anthropic_error_event_raises_with_the_partial_result() -> None:
    body = recording("anthropic", "overloaded_error.sse")
    reader = PartialReader(plan_request(Weather, MESSAGES, mode="tools"), decoder=anthropic())
    with pytest.raises(streamstruct.APIStatusError) as caught:
        read(reader, [body])
    assert caught.value.status_code == 529
    assert caught.value.text == '{"locati'


def test_a_decoder_without_a_whole_body_form_refuses_one_as_a_protocol_error() -> None:
    reader = PartialReader(plan_request(Capital, MESSAGES, mode="json_schema"), decoder=anthropic())
    with pytest.raises(streamstruct.ProtocolError, match="no whole-body form"):
        reader.feed_completion({"content": []})


def test_the_chat_format_through_the_generic_adapter_reads_the_same() -> None:
    # ChatEventDecoder only adds the fast path and [DONE] to what JSONEventDecoder gives.
    chunks = [
        '{"choices":[{"index":0,"delta":{"content":"{\\"city\\": \\"Pa"}}]}',
        '{"choices":[{"index":0,"delta":{"content":"ris\\", \\"country\\": \\"France\\"}"}}]}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    ]
    body = "".join(f"data: {chunk}\n\n" for chunk in chunks).encode()

    def generic() -> EventDecoder:
        return JSONEventDecoder(
            ChunkDecoder(),
            incomplete_reasons=ChatEventDecoder.incomplete_reasons,
            decode_body=parse_completion,
        )

    for make_decoder in (ChatEventDecoder, generic):
        for pieces in splits(body):
            plan = plan_request(Capital, MESSAGES, mode="json_schema")
            _, final = read(PartialReader(plan, decoder=make_decoder()), pieces)
            assert final == Capital(city="Paris", country="France")


@pytest.mark.parametrize(
    ("api", "name", "end", "missing"),
    [
        (
            "responses",
            "json_schema_text.sse",
            b"event: response.completed",
            "no response.completed",
        ),
        ("anthropic", "json_tool.sse", b"event: message_delta", "no message_delta with a stop"),
    ],
)
def test_a_dialect_stream_cut_before_its_end_says_which_event_it_lacked(
    api: Api, name: str, end: bytes, missing: str
) -> None:
    body = recording(api, name)
    cut = body[: body.index(end)]
    mode = "tools" if api == "anthropic" else "json_schema"
    model = Weather if api == "anthropic" else Capital
    reader = PartialReader(plan_request(model, MESSAGES, mode=mode), decoder=new_decoder(api))
    with pytest.raises(streamstruct.StreamInterruptedError) as caught:
        read(reader, [cut])
    assert missing in str(caught.value)
    assert "[DONE]" not in str(caught.value)  # chat's end, which these streams never send


def new_decoder(api: Api) -> EventDecoder:
    return dialect(api).new_decoder()
