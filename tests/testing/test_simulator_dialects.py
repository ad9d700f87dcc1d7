"""The simulator's Responses and Anthropic renderings, read by the official SDKs' stream helpers
(``openai``'s ``client.responses.stream``, ``anthropic``'s ``client.messages.stream``) through an
``httpx.MockTransport`` (streamstruct's own decoders read them in test_dialect_roundtrip)."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import anthropic
import httpx
import httpx2  # what anthropic 2.x is built on (it refuses httpx objects)
import openai
import pytest

from streamstruct.testing._dialects import (
    PlannedCall,
    PlannedError,
    PlannedReply,
    anthropic_error,
    render_anthropic,
    render_responses,
    responses_error,
)

ANSWER = ('{"name":', '"Ann",', '"age":', "31}")
CALLS = (
    PlannedCall("call_a1", "User", ('{"name":"Ann",', '"age":31}')),
    PlannedCall("call_b2", "User", ('{"name":"Bob",', '"age":7}')),
)


def sse_transport(body: bytes, seen: list[Any], http: ModuleType = httpx) -> Any:
    """A MockTransport of ``http`` (httpx, or httpx2 for anthropic) serving ``body`` as SSE."""

    def handler(request: Any) -> Any:
        seen.append(request)
        # Served in pieces of 7 bytes, so the SDKs' own SSE decoders see split events.
        pieces: Iterator[bytes] = (body[i : i + 7] for i in range(0, len(body), 7))
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=pieces)

    return http.MockTransport(handler)


def openai_client(body: bytes, seen: list[httpx.Request]) -> openai.OpenAI:
    http = httpx.Client(transport=sse_transport(body, seen))
    return openai.OpenAI(
        api_key="sk-sim", base_url="http://sim/v1", http_client=http, max_retries=0
    )


def anthropic_client(transport: Any, *, max_retries: int = 0) -> anthropic.Anthropic:
    http = httpx2.Client(transport=transport)
    return anthropic.Anthropic(
        api_key="sk-ant-sim", base_url="http://sim", http_client=http, max_retries=max_retries
    )


def joined(frames: list[tuple[bytes, bool]]) -> bytes:
    return b"".join(frame for frame, _counts in frames)


def event_types(union: Any) -> frozenset[str]:
    """The ``type`` literals of an SDK's stream event union."""
    members = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        members = typing.get_args(members[0])
    return frozenset(typing.get_args(m.model_fields["type"].annotation)[0] for m in members)


def sent_types(frames: list[tuple[bytes, bool]]) -> set[str]:
    lines = joined(frames).decode().splitlines()
    return {json.loads(line[6:])["type"] for line in lines if line.startswith("data: ")}


def test_every_event_rendered_is_one_the_sdks_type() -> None:
    replies = [
        PlannedReply("m", content=ANSWER, reasoning=("r",)),
        PlannedReply("m", calls=CALLS, cut="length"),
        PlannedReply("m", refusal=("no",), error=PlannedError(1)),
        PlannedReply("m", content=ANSWER, error=PlannedError(1)),
    ]
    responses = set().union(*(sent_types(render_responses(r)) for r in replies))
    assert responses <= event_types(openai.types.responses.ResponseStreamEvent)
    assert "response.failed" in responses
    # ping and error are read by the SDK's SSE layer, not members of its event union.
    sent = set().union(*(sent_types(render_anthropic(r)) for r in replies))
    assert sent - {"ping", "error"} <= event_types(anthropic.types.RawMessageStreamEvent)
    assert {"ping", "error"} <= sent


# -- Responses -------------------------------------------------------------------------------------


def responses_final(reply: PlannedReply) -> openai.types.responses.Response:
    seen: list[httpx.Request] = []
    client = openai_client(joined(render_responses(reply)), seen)
    with client.responses.stream(model=reply.model, input="hi") as stream:
        for _event in stream:
            pass
        final = stream.get_final_response()
    assert seen[0].url.path == "/v1/responses"
    return final


def test_openai_sdk_reads_a_responses_text_answer_with_usage_and_reasoning() -> None:
    reply = PlannedReply(
        "gpt-sim",
        content=ANSWER,
        reasoning=("Think", "ing."),
        prompt_tokens=12,
        completion_tokens=9,
    )
    final = responses_final(reply)
    assert final.output_text == "".join(ANSWER)
    assert final.status == "completed"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)
    assert final.usage.total_tokens == 21
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert [s.text for s in reasoning.summary] == ["Thinking."]


def test_openai_sdk_reads_parallel_responses_function_calls() -> None:
    final = responses_final(PlannedReply("gpt-sim", calls=CALLS))
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, c.name) for c in calls] == [("call_a1", "User"), ("call_b2", "User")]
    assert [json.loads(c.arguments) for c in calls] == [
        {"name": "Ann", "age": 31},
        {"name": "Bob", "age": 7},
    ]


def test_openai_sdk_reads_a_responses_refusal() -> None:
    final = responses_final(PlannedReply("gpt-sim", refusal=("I'm sorry,", " no.")))
    (message,) = final.output
    assert message.type == "message"
    (part,) = message.content
    assert part.type == "refusal"
    assert part.refusal == "I'm sorry, no."


@pytest.mark.parametrize(
    ("cut", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_a_cut_responses_stream_ends_in_response_incomplete(cut: str, reason: str) -> None:
    reply = PlannedReply("gpt-sim", content=ANSWER[:2], cut=cut)  # type: ignore[arg-type]
    seen: list[httpx.Request] = []
    client = openai_client(joined(render_responses(reply)), seen)
    with client.responses.stream(model="gpt-sim", input="hi") as stream:
        events = list(stream)
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == reason
    assert last.response.output_text == "".join(ANSWER[:2])
    # The SDK helper's get_final_response() wants response.completed (docs/dialects.md §3).
    with pytest.raises(RuntimeError, match=r"response\.completed"):
        stream.get_final_response()


def test_a_responses_error_event_ends_the_stream_as_the_sdk_sees_it() -> None:
    reply = PlannedReply("gpt-sim", content=ANSWER, error=PlannedError(2, code="server_error"))
    seen: list[httpx.Request] = []
    client = openai_client(joined(render_responses(reply)), seen)
    with client.responses.stream(model="gpt-sim", input="hi") as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[-2:] == ["error", "response.failed"]
    assert kinds.count("response.output_text.delta") == 2
    assert events[-2].code == "server_error"
    assert events[-1].response.error is not None


def test_openai_sdk_raises_its_status_error_from_a_responses_http_error_body() -> None:
    body = responses_error("Rate limit reached.", type="requests", code="rate_limit_exceeded")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, content=body, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = openai.OpenAI(
        api_key="sk-sim", base_url="http://sim/v1", http_client=http, max_retries=0
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="gpt-sim", input="hi", stream=True)
    assert caught.value.code == "rate_limit_exceeded"


# -- Anthropic -------------------------------------------------------------------------------------


def anthropic_final(reply: PlannedReply) -> anthropic.types.Message:
    seen: list[httpx.Request] = []
    client = anthropic_client(sse_transport(joined(render_anthropic(reply)), seen, httpx2))
    with client.messages.stream(model=reply.model, max_tokens=64, messages=[]) as stream:
        for _event in stream:
            pass
        final = stream.get_final_message()
    assert seen[0].url.path == "/v1/messages"
    return final


def test_anthropic_sdk_reads_a_text_answer_with_thinking_and_usage() -> None:
    reply = PlannedReply(
        "claude-sim", content=ANSWER, reasoning=("Hm", "m."), prompt_tokens=40, completion_tokens=5
    )
    final = anthropic_final(reply)
    thinking, text = final.content
    assert thinking.type == "thinking"
    assert thinking.thinking == "Hmm."
    assert thinking.signature
    assert text.type == "text"
    assert text.text == "".join(ANSWER)
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (40, 5)


def test_anthropic_sdk_parses_the_tool_use_blocks_input() -> None:
    final = anthropic_final(PlannedReply("claude-sim", calls=CALLS))
    assert final.stop_reason == "tool_use"
    blocks = [block for block in final.content if block.type == "tool_use"]
    assert [(b.id, b.name, b.input) for b in blocks] == [
        ("toolu_a1", "User", {"name": "Ann", "age": 31}),
        ("toolu_b2", "User", {"name": "Bob", "age": 7}),
    ]


def test_anthropic_sdk_reads_a_refusal_and_a_max_tokens_cut() -> None:
    final = anthropic_final(PlannedReply("claude-sim", refusal=("Sorry,", " no.")))
    assert final.stop_reason == "refusal"
    assert final.stop_details is not None
    assert final.stop_details.explanation == "Sorry, no."
    cut = PlannedReply(
        "claude-sim", calls=(PlannedCall("call_c", "User", ('{"name":"Ann","ag',)),), cut="length"
    )
    frames = render_anthropic(cut)
    assert b"content_block_stop" not in joined(frames)  # the cut block is never stopped
    final = anthropic_final(cut)
    assert final.stop_reason == "max_tokens"
    (block,) = final.content
    assert block.type == "tool_use"
    assert block.input == {"name": "Ann"}  # the SDK's partial-JSON parse of the cut input


def test_anthropic_sdk_raises_on_an_overloaded_error_event() -> None:
    reply = PlannedReply(
        "claude-sim", content=ANSWER, error=PlannedError(1, type="overloaded_error")
    )
    client = anthropic_client(sse_transport(joined(render_anthropic(reply)), [], httpx2))
    stream = client.messages.stream(model="claude-sim", max_tokens=64, messages=[])
    with pytest.raises(anthropic.APIStatusError) as caught, stream as events:
        for _event in events:
            pass
    assert caught.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.OverloadedError),
    ],
)
def test_anthropic_sdk_reads_the_http_error_bodies(
    status: int, error_class: type[Exception]
) -> None:
    headers, body = anthropic_error(status, "Nope.", request_id="req_sim_1")

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers=headers, content=body)

    client = anthropic_client(httpx2.MockTransport(handler))
    with pytest.raises(error_class) as caught:
        client.messages.create(model="claude-sim", max_tokens=8, messages=[], stream=True)
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.request_id == "req_sim_1"
    assert caught.value.body["error"]["message"] == "Nope."


def test_anthropic_sdk_obeys_x_should_retry_from_the_error_answer() -> None:
    calls: list[int] = []

    def respond(should_retry: bool) -> Callable[[httpx2.Request], httpx2.Response]:
        def handler(request: httpx2.Request) -> httpx2.Response:
            calls.append(1)
            headers, body = anthropic_error(
                529, "Overloaded", request_id="req_x", should_retry=should_retry
            )
            headers.append((b"retry-after-ms", b"1"))
            return httpx2.Response(529, headers=headers, content=body)

        return handler

    for should_retry, expected in ((False, 1), (True, 3)):
        calls.clear()
        client = anthropic_client(httpx2.MockTransport(respond(should_retry)), max_retries=2)
        with pytest.raises(anthropic.OverloadedError):
            client.messages.create(model="claude-sim", max_tokens=8, messages=[], stream=True)
        assert len(calls) == expected
