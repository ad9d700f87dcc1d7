"""The simulator's ``/v1/responses`` and ``/v1/messages`` routes, refereed by the official SDKs.

The official ``openai`` package (``client.responses.stream``/``.create``) and ``anthropic``
package (``client.messages.stream``/``.create``) talk to the :class:`Simulator` in process (an
ASGI transport of httpx, or of httpx2 for anthropic 2.x) and must reassemble what it streams:
answers in text and in tool calls, per-item parallel calls, usage, and every fault (HTTP errors
with each API's body, error events, disconnects, truncation, refusals, a missing last event).
The requests are written as each API takes them, so these tests also check how the simulator
reads them (the tool or schema asked for, ``stream: true``, ``max_tokens``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anthropic
import httpx
import httpx2  # what anthropic 2.x is built on (it refuses httpx objects)
import openai
import pytest
from pydantic import BaseModel, Field

from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    MissingDone,
    Refusal,
    Reply,
    Simulator,
    Stall,
    Truncate,
)
from streamstruct.testing._dialect_ask import _read_anthropic_ask, _read_responses_ask
from streamstruct.testing._plan import _plan, _StallStep
from streamstruct.testing._script import _Settings

pytestmark = [
    pytest.mark.anyio,
    # The SDKs' async streams leave httpx's byte iterators to the garbage collector on trio.
    pytest.mark.filterwarnings("ignore:Async generator .* was garbage collected:ResourceWarning"),
]


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=130)


ANN = {"name": "Ann", "age": 31}
PEOPLE = {"items": [ANN, {"name": "Bob", "age": 7}]}
SCHEMA = Person.model_json_schema()
USER = [{"role": "user", "content": "Tell me about someone."}]
RESPONSES_TOOL = {"type": "function", "name": "Person", "parameters": SCHEMA, "strict": True}
ANTHROPIC_TOOL = {"name": "Person", "input_schema": SCHEMA, "eager_input_streaming": True}


def openai_client(sim: Simulator, *, max_retries: int = 0) -> openai.AsyncOpenAI:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim))
    return openai.AsyncOpenAI(
        api_key="sk-sim", base_url="http://sim/v1", http_client=http, max_retries=max_retries
    )


def anthropic_client(sim: Simulator, *, max_retries: int = 0) -> anthropic.AsyncAnthropic:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim))
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-sim", base_url="http://sim", http_client=http, max_retries=max_retries
    )


async def responses_events(sim: Simulator, **request: Any) -> list[Any]:
    """Every event of a streamed Responses request, as the SDK parses them."""
    client = openai_client(sim)
    stream = await client.responses.create(model="gpt-sim", input=USER, stream=True, **request)
    return [event async for event in stream]


async def anthropic_events(sim: Simulator, **request: Any) -> list[Any]:
    """Every event of a streamed Messages request, as the SDK parses them."""
    client = anthropic_client(sim)
    stream = await client.messages.create(
        model="claude-sim", max_tokens=1024, messages=USER, stream=True, **request
    )
    return [event async for event in stream]


def types_of(events: list[Any]) -> list[str]:
    return [event.type for event in events]


# -- Responses -------------------------------------------------------------------------------------


async def test_responses_structured_text_is_parsed_by_the_openai_stream_helper() -> None:
    sim = Simulator(responses=Reply(ANN), chunk_size=3)
    client = openai_client(sim)
    async with client.responses.stream(
        model="gpt-sim", input=USER, instructions="Be brief.", text_format=Person
    ) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert final.output_parsed == Person(**ANN)
    assert "".join(deltas) == json.dumps(ANN, separators=(",", ":"))
    assert len(deltas) > 5  # streamed in pieces of 3 characters
    assert final.usage is not None
    assert final.usage.total_tokens == (final.usage.input_tokens + final.usage.output_tokens)
    assert sim.requests[0]["stream"] is True
    assert sim.requests[0]["text"]["format"]["type"] == "json_schema"


async def test_responses_generates_from_the_text_format_schema() -> None:
    client = openai_client(Simulator(seed=3))
    async with client.responses.stream(model="gpt-sim", input="hi", text_format=Person) as stream:
        final = await stream.get_final_response()
    assert isinstance(final.output_parsed, Person)


async def test_responses_forced_function_call_streams_its_arguments() -> None:
    sim = Simulator(responses=Reply(ANN), chunk_size=5)
    choice = {"type": "function", "name": "Person"}
    events = await responses_events(sim, tools=[RESPONSES_TOOL], tool_choice=choice)
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert json.loads("".join(deltas)) == ANN
    completed = events[-1]
    assert completed.type == "response.completed"
    (call,) = completed.response.output
    assert call.type == "function_call"
    assert call.name == "Person"
    assert json.loads(call.arguments) == ANN
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_responses_parallel_calls_one_per_item() -> None:
    sim = Simulator(responses=Reply(PEOPLE))
    events = await responses_events(
        sim, tools=[RESPONSES_TOOL], tool_choice="required", parallel_tool_calls=True
    )
    output = events[-1].response.output
    assert [json.loads(item.arguments) for item in output] == PEOPLE["items"]
    assert [item.output_index for item in events if item.type == "response.output_item.added"] == [
        0,
        1,
    ]


async def test_responses_truncation_is_an_incomplete_response() -> None:
    for finish, reason in (("length", "max_output_tokens"), ("content_filter", "content_filter")):
        sim = Simulator(responses=Reply(ANN, faults=Truncate(8, finish_reason=finish)))  # type: ignore[arg-type]
        events = await responses_events(sim)
        last = events[-1]
        assert last.type == "response.incomplete"
        assert last.response.incomplete_details.reason == reason
        assert last.response.output[0].content[0].text == json.dumps(ANN, separators=(",", ":"))[:8]


async def test_responses_refusal_streams_refusal_deltas() -> None:
    sim = Simulator(responses=Reply(ANN, faults=Refusal("No, sorry.")))
    events = await responses_events(sim, text={"format": {"type": "json_object"}})
    refusal = "".join(e.delta for e in events if e.type == "response.refusal.delta")
    assert refusal == "No, sorry."
    assert events[-1].response.output[0].content[0].refusal == "No, sorry."


async def test_responses_error_event_then_failed() -> None:
    sim = Simulator(responses=Reply(ANN, faults=ErrorEvent(after=2)), chunk_size=2)
    events = await responses_events(sim)
    assert types_of(events)[-2:] == ["error", "response.failed"]
    assert sum(e.type == "response.output_text.delta" for e in events) == 2
    assert events[-1].response.error.code == "server_error"


async def test_responses_missing_done_drops_the_completed_event() -> None:
    events = await responses_events(Simulator(faults=MissingDone()))
    assert "response.completed" not in types_of(events)
    assert types_of(events)[-1] == "response.output_item.done"


async def test_responses_http_errors_have_openai_bodies() -> None:
    sim = Simulator(faults=ErrorStatus(429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as caught:
        await responses_events(sim)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.request_id is not None


async def test_responses_disconnect_mid_stream() -> None:
    sim = Simulator(faults=Disconnect(after_bytes=600))
    with pytest.raises(openai.APIError):
        await responses_events(sim)


async def test_responses_whole_answer_when_not_streamed() -> None:
    client = openai_client(Simulator(responses=Reply(ANN)))
    response = await client.responses.create(model="gpt-sim", input="hi")
    assert response.usage is not None
    assert json.loads(response.output_text) == ANN
    assert response.status == "completed"
    call = await client.responses.create(
        model="gpt-sim",
        input="hi",
        tools=[RESPONSES_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "Person"},
    )
    (item,) = call.output
    assert item.type == "function_call"
    assert json.loads(item.arguments) == ANN


async def test_responses_bad_request_is_refused_with_openai_body() -> None:
    client = openai_client(Simulator())
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-sim", input=[])
    assert caught.value.param == "input"


# -- Anthropic -------------------------------------------------------------------------------------


async def test_anthropic_forced_tool_input_snapshots_grow() -> None:
    sim = Simulator(responses=Reply(ANN), chunk_size=4)
    client = anthropic_client(sim)
    async with client.messages.stream(
        model="claude-sim",
        max_tokens=1024,
        system="You describe people.",
        messages=USER,
        tools=[ANTHROPIC_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "Person", "disable_parallel_tool_use": True},
    ) as stream:
        snapshots = [e.snapshot async for e in stream if e.type == "input_json"]
        final = await stream.get_final_message()
    assert snapshots[-1] == ANN
    assert len(snapshots) > 5
    assert snapshots[0] == {}
    assert {"name": "Ann"} in snapshots
    (block,) = final.content
    assert block.type == "tool_use"
    assert block.name == "Person"
    assert block.input == ANN
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0
    assert "anthropic-version" in sim.request_headers[0]


async def test_anthropic_structured_output_is_text() -> None:
    sim = Simulator(seed=5)
    output_config = {"format": {"type": "json_schema", "schema": SCHEMA}}
    client = anthropic_client(sim)
    async with client.messages.stream(
        model="claude-sim",
        max_tokens=512,
        messages=USER,
        extra_body={"output_config": output_config},
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "end_turn"
    (block,) = final.content
    assert block.type == "text"
    Person.model_validate_json(block.text)  # generated from output_config.format.schema


async def test_anthropic_any_tool_gives_one_block_per_item() -> None:
    sim = Simulator(responses=Reply(PEOPLE))
    events = await anthropic_events(sim, tools=[ANTHROPIC_TOOL], tool_choice={"type": "any"})
    starts = [e for e in events if e.type == "content_block_start"]
    assert [e.index for e in starts] == [0, 1]
    stops = [e.index for e in events if e.type == "content_block_stop"]
    assert stops == [0, 1]
    inputs: dict[int, str] = {}
    for event in events:
        if event.type == "content_block_delta":
            inputs[event.index] = inputs.get(event.index, "") + event.delta.partial_json
    assert [json.loads(text) for text in inputs.values()] == PEOPLE["items"]
    assert types_of(events)[-2:] == ["message_delta", "message_stop"]


async def test_anthropic_max_tokens_leaves_the_cut_tool_block_open() -> None:
    sim = Simulator(responses=Reply(ANN, faults=Truncate(12)))
    client = anthropic_client(sim)
    async with client.messages.stream(
        model="claude-sim",
        max_tokens=5,
        messages=USER,
        tools=[ANTHROPIC_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "Person"},
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert "content_block_stop" not in types_of(events)


async def test_anthropic_refusal_is_the_stop_reason_with_its_explanation() -> None:
    sim = Simulator(responses=Reply(ANN, faults=Refusal("I can't help with that.")))
    client = anthropic_client(sim)
    async with client.messages.stream(model="claude-sim", max_tokens=100, messages=USER) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert final.stop_details is not None
    assert final.stop_details.explanation == "I can't help with that."


async def test_anthropic_content_filter_cut_is_a_refusal() -> None:
    sim = Simulator(responses=Reply(ANN, faults=Truncate(5, finish_reason="content_filter")))
    events = await anthropic_events(sim)
    (delta,) = [e for e in events if e.type == "message_delta"]
    assert delta.delta.stop_reason == "refusal"


async def test_anthropic_error_event_mid_stream_raises_a_typed_sdk_error() -> None:
    fault = ErrorEvent(after=1, type="overloaded_error", message="Overloaded")
    sim = Simulator(responses=Reply(ANN, faults=fault))
    with pytest.raises(anthropic.APIStatusError) as caught:
        await anthropic_events(sim)
    assert "Overloaded" in str(caught.value)
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_anthropic_http_errors_have_anthropic_bodies_and_headers() -> None:
    sim = Simulator(faults=ErrorStatus(529))
    with pytest.raises(anthropic.InternalServerError) as caught:
        await anthropic_events(sim)
    assert caught.value.status_code == 529
    body = caught.value.body
    assert isinstance(body, Mapping)
    assert body["error"]["type"] == "overloaded_error"
    assert caught.value.response.headers["request-id"].startswith("req_")
    assert caught.value.request_id == caught.value.response.headers["request-id"]


async def test_anthropic_x_should_retry_false_is_obeyed_by_the_sdk() -> None:
    sim = Simulator(faults=ErrorStatus(429, headers={"x-should-retry": "false"}))
    client = anthropic_client(sim, max_retries=3)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model="claude-sim", max_tokens=10, messages=USER)
    assert len(sim.requests) == 1
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


async def test_anthropic_missing_max_tokens_is_a_400_with_anthropic_body() -> None:
    sim = Simulator()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim)) as http:
        response = await http.post(
            "http://sim/v1/messages", json={"model": "claude-sim", "messages": USER}
        )
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in response.json()["error"]["message"]
    assert "request-id" in response.headers


async def test_anthropic_missing_done_and_disconnect() -> None:
    events = await anthropic_events(Simulator(faults=MissingDone()))
    assert types_of(events)[-1] == "message_delta"
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
        await anthropic_events(Simulator(faults=Disconnect(after_bytes=400)))


async def test_anthropic_whole_message_when_not_streamed() -> None:
    client = anthropic_client(Simulator(responses=Reply(ANN)))
    message = await client.messages.create(
        model="claude-sim",
        max_tokens=100,
        messages=USER,
        tools=[ANTHROPIC_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "Person"},
    )
    (block,) = message.content
    assert block.type == "tool_use"
    assert block.input == ANN
    assert message.stop_reason == "tool_use"


async def test_anthropic_keep_alive_is_a_ping_and_the_sdk_skips_it() -> None:
    sim = Simulator(responses=Reply(ANN), keep_alive_every=2, chunk_size=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim)) as http:
        response = await http.post("http://sim/v1/messages", json=sim_request_anthropic())
    assert response.text.count("event: ping") > 4  # the opening ping and one per two events
    assert b": keep-alive" not in response.content
    sim.script(Reply(ANN))
    assert "ping" not in types_of(await anthropic_events(sim))


# -- Faults land at the same place in every API ----------------------------------------------------


def sim_request_anthropic() -> dict[str, Any]:
    return {"model": "claude-sim", "max_tokens": 10, "messages": USER, "stream": True}


@pytest.mark.parametrize("api", ["responses", "anthropic"])
def test_a_stall_comes_after_the_same_number_of_text_deltas(api: str) -> None:
    settings = _Settings(0, (3,), 0.0, None, "\n", "json", ())
    if api == "responses":
        ask = _read_responses_ask({"model": "m", "input": "hi", "stream": True})
        delta = b"response.output_text.delta"
    else:
        ask = _read_anthropic_ask(sim_request_anthropic())
        delta = b"text_delta"
    plan = _plan(
        ask,
        Reply(ANN, faults=Stall(after=4)),
        settings,
        number=0,
        request_id="r",
        api=api,  # type: ignore[arg-type]
    )
    stall = next(i for i, step in enumerate(plan.steps) if isinstance(step, _StallStep))
    before = b"".join(step for step in plan.steps[:stall] if isinstance(step, bytes))
    assert before.count(delta) == 4 * (2 if api == "responses" else 1)  # `event:` line + type


def test_requests_are_read_the_way_each_api_sends_them() -> None:
    responses = _read_responses_ask(
        {
            "model": "m",
            "instructions": "Answer with JSON.",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "tools": [RESPONSES_TOOL],
            "tool_choice": {"type": "function", "name": "Person"},
            "stream": True,
        }
    )
    assert (responses.tool_name, responses.tool_choice_named, responses.stream) == (
        "Person",
        True,
        True,
    )
    assert responses.schema == SCHEMA
    anthropic_ask = _read_anthropic_ask(
        {
            "model": "m",
            "max_tokens": 10,
            "system": [{"type": "text", "text": f"Follow this schema: {json.dumps(SCHEMA)}"}],
            "messages": USER,
        }
    )
    assert anthropic_ask.tool_name is None
    assert anthropic_ask.schema == SCHEMA
    assert not anthropic_ask.stream


# -- The pytest plugin's fixtures take the API -----------------------------------------------------


@pytest.mark.parametrize("streamstruct_api", ["anthropic"])
def test_the_served_url_is_an_anthropic_base_url(
    streamstruct_simulator: Simulator, streamstruct_simulator_url: str
) -> None:
    assert not streamstruct_simulator_url.endswith("/v1")
    streamstruct_simulator.script(Reply(ANN))
    # Closed when done: an SDK client left open keeps its keep-alive socket to the server until
    # the collector finds it, in whatever test runs then (a ResourceWarning, an error there).
    with (
        anthropic.Anthropic(
            api_key="sk-ant-sim", base_url=streamstruct_simulator_url, max_retries=0
        ) as client,
        client.messages.stream(
            model="claude-sim",
            max_tokens=100,
            messages=USER,
            tools=[ANTHROPIC_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "Person"},
        ) as stream,
    ):
        final = stream.get_final_message()
    assert final.content[0].input == ANN  # type: ignore[union-attr]


@pytest.mark.parametrize("streamstruct_api", ["responses"])
def test_the_served_url_serves_the_responses_api(
    streamstruct_simulator: Simulator, streamstruct_simulator_url: str
) -> None:
    streamstruct_simulator.script(Reply(ANN))
    with (
        openai.OpenAI(
            api_key="sk-sim", base_url=streamstruct_simulator_url, max_retries=0
        ) as client,
        client.responses.stream(model="gpt-sim", input="hi", text_format=Person) as stream,
    ):
        final = stream.get_final_response()
    assert final.output_parsed == Person(**ANN)
