"""The chat-completions simulator: wire format, scripting, faults, generation, serving, clients.

Most tests talk to the app in process (``httpx.ASGITransport`` or ``StreamingASGITransport``); the
``simulator_url`` ones go through uvicorn on 127.0.0.1. The official ``openai`` package is the
referee for "speaks the protocol": it must reassemble what the simulator streams.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from importlib.util import find_spec
from typing import Annotated, Any, Literal

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter

import streamstruct.testing
from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    MissingDone,
    Refusal,
    Reply,
    SimulatedDisconnect,
    Simulator,
    Stall,
    StreamingASGITransport,
    Truncate,
    generate_value,
    serve,
)

try:
    import openai
    from openai.lib._pydantic import to_strict_json_schema
except ImportError:  # pragma: no cover - the test extra installs it
    openai = None

# The referee client and the server are test dependencies; say so rather than fail obscurely.
needs_openai = pytest.mark.skipif(openai is None, reason="needs the openai package")
needs_uvicorn = pytest.mark.skipif(
    find_spec("uvicorn") is None, reason="needs uvicorn (streamstruct[sim])"
)

# openai-python's AsyncStream stops reading at [DONE] without closing httpx's byte iterators; on
# trio their garbage collection emits this ResourceWarning. Not the simulator's doing.
openai_gc_warning = pytest.mark.filterwarnings(
    "ignore:Async generator .* was garbage collected:ResourceWarning"
)

MESSAGES = [{"role": "user", "content": "Tell me about someone."}]


class Person(BaseModel):
    name: str
    email: str
    age: int = Field(ge=0, le=130)
    bio: str = Field(max_length=80)


PERSON_SCHEMA = Person.model_json_schema()
JSON_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "Person", "schema": PERSON_SCHEMA},
}


def person_tool(name: str = "Person", schema: Mapping[str, Any] = PERSON_SCHEMA) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": schema}}


def body(**fields: Any) -> dict[str, Any]:
    """A chat-completions request body with sensible defaults."""
    return {"model": "gpt-sim", "messages": MESSAGES, **fields}


def parse_sse(raw: bytes) -> list[str]:
    """Data payloads and comments (as ``":..."``) of an SSE body, whatever its line endings."""
    text = raw.decode().replace("\r\n", "\n").replace("\r", "\n")
    assert text.endswith("\n\n") or not text, "the body must end with a blank line"
    out: list[str] = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith(":"):
                out.append(line)
            elif line:
                assert line.startswith("data: "), line
                out.append(line[len("data: ") :])
    return out


def chunks_of(raw: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of an SSE body (checking that it ends with ``[DONE]``)."""
    payloads = [p for p in parse_sse(raw) if not p.startswith(":")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(p) for p in payloads[:-1]]


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def arguments_of(chunks: list[dict[str, Any]]) -> dict[int, str]:
    calls: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or ():
                calls[call["index"]] = calls.get(call["index"], "") + call["function"]["arguments"]
    return calls


async def post(sim: Simulator, payload: Any, path: str = "/v1/chat/completions") -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim"
    ) as client:
        return await client.post(path, json=payload)


# ---------------------------------------------------------------------------------------------
# The package surface
# ---------------------------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    names = streamstruct.testing.__all__
    assert list(names) == sorted(set(names))
    for name in names:
        assert getattr(streamstruct.testing, name) is not None


def test_importing_needs_no_uvicorn_and_the_library_does_not_import_testing() -> None:
    code = (
        "import sys, streamstruct; assert 'streamstruct.testing' not in sys.modules;"
        "import streamstruct.testing; assert 'uvicorn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# The wire format (in process)
# ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_content_stream_matches_the_openai_shape() -> None:
    sim = Simulator(chunk_size=5)
    response = await post(
        sim,
        body(
            stream=True, stream_options={"include_usage": True}, response_format=JSON_SCHEMA_FORMAT
        ),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-request-id"].startswith("req_")
    chunks = chunks_of(response.content)

    envelope = {(c["id"], c["created"], c["model"], c["system_fingerprint"]) for c in chunks}
    assert len(envelope) == 1
    chunk_id, created, model, fingerprint = envelope.pop()
    assert chunk_id.startswith("chatcmpl-")
    assert isinstance(created, int)
    assert model == "gpt-sim"
    assert fingerprint.startswith("fp_")
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)

    *deltas, finish, usage = chunks
    for chunk in [*deltas, finish]:
        assert chunk["usage"] is None  # with include_usage, every other chunk has usage: null
        (choice,) = chunk["choices"]
        assert choice.keys() == {"index", "delta", "logprobs", "finish_reason"}
        assert choice["index"] == 0
        assert choice["logprobs"] is None
    assert deltas[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert all(c["choices"][0]["finish_reason"] is None for c in deltas)
    pieces = [c["choices"][0]["delta"]["content"] for c in deltas[1:]]
    assert all(0 < len(p) <= 5 for p in pieces)
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }

    value = json.loads(content_of(chunks))
    assert value == generate_value(PERSON_SCHEMA, seed=0)
    Person.model_validate(value)
    assert usage["choices"] == []
    totals = usage["usage"]
    assert totals["total_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"] > 0


@pytest.mark.anyio
async def test_without_include_usage_there_is_no_usage_anywhere() -> None:
    response = await post(Simulator(), body(stream=True, response_format=JSON_SCHEMA_FORMAT))
    chunks = chunks_of(response.content)
    assert all("usage" not in c and c["choices"] for c in chunks)


@pytest.mark.anyio
async def test_obfuscation_can_be_switched_off() -> None:
    on = chunks_of((await post(Simulator(), body(stream=True))).content)
    off = chunks_of(
        (
            await post(
                Simulator(), body(stream=True, stream_options={"include_obfuscation": False})
            )
        ).content
    )
    assert all("obfuscation" in c for c in on)
    assert all("obfuscation" not in c for c in off)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool_choice", "finish_reason"),
    [
        ({"type": "function", "function": {"name": "Person"}}, "stop"),  # as OpenAI does
        ("required", "tool_calls"),
        (None, "tool_calls"),  # tools without tool_choice: "auto"
    ],
)
async def test_tool_call_stream(tool_choice: object, finish_reason: str) -> None:
    payload = body(stream=True, tools=[person_tool(), person_tool("Other")])
    if tool_choice is not None:
        payload["tool_choice"] = tool_choice
    chunks = chunks_of((await post(Simulator(chunk_size=7), payload)).content)

    first, opening, *fragments, finish = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": None}
    (call,) = opening["choices"][0]["delta"]["tool_calls"]
    assert call["index"] == 0
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "Person", "arguments": ""}
    for fragment in fragments:
        (part,) = fragment["choices"][0]["delta"]["tool_calls"]
        assert part.keys() == {"index", "function"}
        assert part["function"].keys() == {"arguments"}
    assert finish["choices"][0]["finish_reason"] == finish_reason
    assert json.loads(arguments_of(chunks)[0]) == generate_value(PERSON_SCHEMA, seed=0)


@pytest.mark.anyio
async def test_tool_choice_none_answers_in_content() -> None:
    payload = body(stream=True, tools=[person_tool()], tool_choice="none")
    chunks = chunks_of((await post(Simulator(responses={"a": 1}), payload)).content)
    assert json.loads(content_of(chunks)) == {"a": 1}
    assert not arguments_of(chunks)


ITEMS_SCHEMA = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Person"}}},
    "required": ["items"],
    "$defs": {"Person": PERSON_SCHEMA},
}


@pytest.mark.anyio
async def test_one_parallel_tool_call_per_item() -> None:
    people = [generate_value(PERSON_SCHEMA, seed=n) for n in range(3)]
    sim = Simulator(responses=Reply({"items": people}, tool_calls="per_item"))
    payload = body(stream=True, tools=[person_tool("People", ITEMS_SCHEMA)], tool_choice="required")
    chunks = chunks_of((await post(sim, payload)).content)
    openings = [
        call
        for c in chunks
        for call in c["choices"][0]["delta"].get("tool_calls") or ()
        if "id" in call
    ]
    assert [o["index"] for o in openings] == [0, 1, 2]
    assert len({o["id"] for o in openings}) == 3
    arguments = arguments_of(chunks)
    assert [json.loads(arguments[i]) for i in range(3)] == people
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    # parallel_tool_calls: false limits the turn to one call holding every item.
    chunks = chunks_of((await post(sim, {**payload, "parallel_tool_calls": False})).content)
    assert {i: json.loads(a) for i, a in arguments_of(chunks).items()} == {0: {"items": people}}


@pytest.mark.anyio
async def test_non_streaming_completion() -> None:
    sim = Simulator(responses=[{"city": "Paris"}, {"city": "Oslo"}])
    response = await post(sim, body(response_format=JSON_SCHEMA_FORMAT))
    assert response.headers["content-type"] == "application/json"
    completion = response.json()
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-")
    assert completion["model"] == "gpt-sim"
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert json.loads(choice["message"]["content"]) == {"city": "Paris"}
    assert completion["usage"]["total_tokens"] > 0

    tools = body(tools=[person_tool()], tool_choice="required")
    message = (await post(sim, tools)).json()["choices"][0]["message"]
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "Person"
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}

    sim.script(Reply({"x": 1}, finish_reason="content_filter"))
    assert (await post(sim, body())).json()["choices"][0]["finish_reason"] == "content_filter"


@pytest.mark.anyio
async def test_line_endings_and_keep_alive() -> None:
    for ending in ("\r\n", "\r"):
        raw = (await post(Simulator(line_ending=ending), body(stream=True))).content
        assert raw.endswith(f"data: [DONE]{ending}{ending}".encode())
        assert b"\n" not in raw.replace(b"\r\n", b"") or ending == "\r\n"
    raw = (await post(Simulator(keep_alive_every=2, chunk_size=1), body(stream=True))).content
    payloads = parse_sse(raw)
    assert payloads[2] == ": keep-alive"
    assert payloads[5] == ": keep-alive"
    assert payloads[-1] == "[DONE]"  # never a trailing comment after the terminator


@pytest.mark.anyio
async def test_irregular_chunk_sizes_are_cycled() -> None:
    sim = Simulator(responses="abcdefghijkl", chunk_size=[1, 2, 3])
    chunks = chunks_of((await post(sim, body(stream=True))).content)
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == [
        "a", "bc", "def", "g", "hi", "jkl",
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# What is answered
# ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_scripted_queue_then_generated_values() -> None:
    sim = Simulator(responses=[{"n": 1}, '{"raw": tru'])
    sim.script([1, 2])  # one JSON array answer
    answers = [
        content_of(chunks_of((await post(sim, body(stream=True))).content)) for _ in range(4)
    ]
    assert answers == ['{"n":1}', '{"raw": tru', "[1,2]", "{}"]  # no schema: {}
    assert len(sim.requests) == 4
    assert sim.requests[0]["model"] == "gpt-sim"
    assert sim.request_headers[0]["content-type"] == "application/json"


@pytest.mark.anyio
async def test_a_single_response_answers_every_request() -> None:
    sim = Simulator(responses={"same": True})
    for _ in range(2):
        response = await post(sim, body())
        assert json.loads(response.json()["choices"][0]["message"]["content"]) == {"same": True}


@pytest.mark.anyio
async def test_generation_is_seeded_by_the_request_or_the_simulator() -> None:
    def content(response: httpx.Response) -> Any:
        return json.loads(response.json()["choices"][0]["message"]["content"])

    default = content(await post(Simulator(), body(response_format=JSON_SCHEMA_FORMAT)))
    assert default == content(await post(Simulator(), body(response_format=JSON_SCHEMA_FORMAT)))
    seeded = content(await post(Simulator(seed=7), body(response_format=JSON_SCHEMA_FORMAT)))
    assert seeded == generate_value(PERSON_SCHEMA, seed=7) != default
    request_seed = content(
        await post(Simulator(), body(seed=7, response_format=JSON_SCHEMA_FORMAT))
    )
    assert request_seed == seeded


@pytest.mark.anyio
async def test_json_mode_takes_the_schema_from_the_system_message() -> None:
    messages = [
        {"role": "system", "content": f"Answer in JSON matching {json.dumps(PERSON_SCHEMA)}."},
        *MESSAGES,
    ]
    payload = body(messages=messages, response_format={"type": "json_object"})
    message = (await post(Simulator(), payload)).json()["choices"][0]["message"]
    Person.model_validate_json(message["content"])
    bare = body(response_format={"type": "json_object"})
    assert (await post(Simulator(), bare)).json()["choices"][0]["message"]["content"] == "{}"


@pytest.mark.anyio
async def test_md_json_style_fences_the_json_with_prose() -> None:
    sim = Simulator(style="md_json", responses={"name": "Ada"})
    content = (await post(sim, body())).json()["choices"][0]["message"]["content"]
    prose, fenced = content.split("```json\n")
    assert prose.strip()
    assert fenced.split("\n```")[1].strip()
    assert json.loads(fenced.split("\n```")[0]) == {"name": "Ada"}
    # The style is per reply too; a raw string is never wrapped.
    sim.script(Reply({"x": 1}, style="json"), "raw")
    assert (await post(sim, body())).json()["choices"][0]["message"]["content"] == '{"x":1}'
    assert (await post(sim, body())).json()["choices"][0]["message"]["content"] == "raw"


@pytest.mark.anyio
async def test_non_ascii_content_survives_the_stream() -> None:
    value = {"greeting": "héllo wörld ☃ 日本 🎉"}
    chunks = chunks_of(
        (await post(Simulator(responses=value, chunk_size=1), body(stream=True))).content
    )
    assert json.loads(content_of(chunks)) == value


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_error_status_before_the_stream() -> None:
    sim = Simulator(responses=[Reply(faults=[ErrorStatus(429, retry_after=1.5)]), {"ok": 1}])
    response = await post(sim, body(stream=True))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1.5"
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error.keys() == {"message", "type", "param", "code"}
    assert error["code"] == "rate_limit_exceeded"
    assert (await post(sim, body(stream=True))).status_code == 200  # the next one succeeds

    custom = Simulator(faults=ErrorStatus(503, message="busy", headers={"x-should-retry": "false"}))
    response = await post(custom, body())
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "busy"
    assert response.headers["x-should-retry"] == "false"


@pytest.mark.anyio
async def test_error_event_mid_stream() -> None:
    sim = Simulator(responses=Reply("0123456789", faults=[ErrorEvent(after=2)]), chunk_size=2)
    payloads = parse_sse((await post(sim, body(stream=True))).content)
    *chunks, last = payloads
    assert [json.loads(c)["choices"][0]["delta"].get("content") for c in chunks] == ["", "01", "23"]
    assert json.loads(last)["error"]["type"] == "server_error"  # and no [DONE]
    non_streaming = await post(sim, body())
    assert non_streaming.status_code == 500


@pytest.mark.anyio
async def test_truncation_refusal_and_missing_done() -> None:
    full = json.dumps(generate_value(PERSON_SCHEMA, seed=0), separators=(",", ":"))
    payload = body(
        stream=True, stream_options={"include_usage": True}, response_format=JSON_SCHEMA_FORMAT
    )

    chunks = chunks_of((await post(Simulator(faults=Truncate(after_chars=10)), payload)).content)
    assert content_of(chunks) == full[:10]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []  # usage still comes

    chunks = chunks_of((await post(Simulator(faults=Refusal("No.")), payload)).content)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None, "refusal": ""}
    refusal = "".join(c["choices"][0]["delta"].get("refusal") or "" for c in chunks if c["choices"])
    assert refusal == "No."
    assert content_of(chunks) == ""
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"

    payloads = parse_sse((await post(Simulator(faults=MissingDone()), payload)).content)
    assert payloads[-1] != "[DONE]"
    assert json.loads(payloads[-1])["usage"]


@pytest.mark.anyio
async def test_truncated_tool_arguments() -> None:
    payload = body(stream=True, tools=[person_tool()], tool_choice="required")
    sim = Simulator(responses=Reply({"name": "Ada Lovelace"}, faults=[Truncate(after_chars=6)]))
    chunks = chunks_of((await post(sim, payload)).content)
    assert arguments_of(chunks) == {0: '{"name'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.anyio
async def test_disconnect_with_the_buffering_asgi_transport() -> None:
    # httpx.ASGITransport runs the app to the end before returning, so the drop surfaces there.
    with pytest.raises(httpx.RemoteProtocolError):
        await post(Simulator(faults=Disconnect(after_bytes=100)), body(stream=True))


async def drain(pieces: AsyncIterator[bytes], into: bytearray) -> None:
    """Collect a body into ``into`` as it arrives, so a test can inspect it after a failure."""
    async for piece in pieces:
        into += piece


async def drain_url(url: str, into: bytearray, read_timeout: float = 5.0) -> None:
    """POST a streaming request over the network and collect the body as it arrives."""
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=read_timeout)) as client,
        client.stream("POST", f"{url}/chat/completions", json=body(stream=True)) as response,
    ):
        await drain(response.aiter_raw(), into)


async def read_streaming(
    sim: Simulator, payload: Mapping[str, Any], *, read_timeout: float | None = None
) -> AsyncIterator[bytes]:
    transport = StreamingASGITransport(sim)
    timeout = httpx.Timeout(5.0, read=read_timeout)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://sim", timeout=timeout) as client,
        client.stream("POST", "/v1/chat/completions", json=payload) as response,
    ):
        assert response.status_code == 200
        async for piece in response.aiter_raw():
            yield piece


@pytest.mark.anyio
async def test_streaming_transport_delivers_piece_by_piece() -> None:
    sim = Simulator(responses="x" * 5, chunk_size=1, delay=0.02)
    arrivals: list[float] = []
    received = b""
    async for piece in read_streaming(sim, body(stream=True)):
        arrivals.append(anyio.current_time())
        received += piece
    assert len(arrivals) == 8  # role, 5 deltas, finish, [DONE]: one body message each
    assert arrivals[-1] - arrivals[0] >= 0.02 * 7 * 0.9  # they arrive as sent, not at the end
    assert content_of(chunks_of(received)) == "xxxxx"


@pytest.mark.anyio
async def test_streaming_transport_disconnect_mid_stream() -> None:
    sim = Simulator(faults=Disconnect(after_bytes=300))
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        await drain(read_streaming(sim, body(stream=True)), received)
    assert len(received) == 300


@pytest.mark.anyio
async def test_streaming_transport_stall_trips_the_read_timeout() -> None:
    sim = Simulator(responses="abcdefgh", faults=Stall(after=2))
    received = bytearray()
    with anyio.fail_after(5), pytest.raises(httpx.ReadTimeout):
        await drain(read_streaming(sim, body(stream=True), read_timeout=0.1), received)
    assert len(parse_sse(bytes(received))) == 3  # role chunk and two deltas, then silence


@pytest.mark.anyio
async def test_a_short_stall_only_delays() -> None:
    sim = Simulator(responses="abc", faults=Stall(after=1, seconds=0.05))
    received = b"".join([piece async for piece in read_streaming(sim, body(stream=True))])
    assert content_of(chunks_of(received)) == "abc"


# ---------------------------------------------------------------------------------------------
# Requests the API would refuse
# ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bad_requests_get_openai_error_bodies() -> None:
    sim = Simulator()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim"
    ) as client:
        assert (await client.post("/v1/nothing", json={})).status_code == 404
        assert (await client.get("/v1/chat/completions")).status_code == 405
        broken = await client.post("/v1/chat/completions", content=b"{not json")
        assert broken.status_code == 400
        assert broken.json()["error"]["type"] == "invalid_request_error"
        no_model = await client.post("/chat/completions", json={"messages": MESSAGES})
        assert no_model.status_code == 400
        assert no_model.json()["error"]["param"] == "model"
        named = body(
            tools=[person_tool()], tool_choice={"type": "function", "function": {"name": "X"}}
        )
        assert (await client.post("/v1/chat/completions", json=named)).status_code == 400
        models = await client.get("/v1/models")
        assert models.json()["data"][0]["object"] == "model"
    assert len(sim.requests) == 2  # every JSON object sent to chat completions, refused or not


@pytest.mark.anyio
async def test_a_refused_request_does_not_use_up_a_scripted_answer() -> None:
    sim = Simulator(responses=[{"first": 1}])
    assert (await post(sim, {"messages": MESSAGES})).status_code == 400
    message = (await post(sim, body())).json()["choices"][0]["message"]
    assert json.loads(message["content"]) == {"first": 1}


def test_invalid_settings_are_refused_early() -> None:
    with pytest.raises(ValueError, match="chunk sizes"):
        Simulator(chunk_size=0)
    with pytest.raises(ValueError, match="line_ending"):
        Simulator(line_ending="\n\n")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk sizes"):
        Reply(chunk_size=[])


# ---------------------------------------------------------------------------------------------
# Over loopback (uvicorn)
# ---------------------------------------------------------------------------------------------


@needs_uvicorn
@pytest.mark.anyio
async def test_served_stream_matches_the_in_process_one(
    simulator: Simulator, simulator_url: str
) -> None:
    payload = body(stream=True, response_format=JSON_SCHEMA_FORMAT)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{simulator_url}/chat/completions", json=payload)
    assert response.headers["transfer-encoding"] == "chunked"
    in_process = await post(Simulator(), payload)
    assert content_of(chunks_of(response.content)) == content_of(chunks_of(in_process.content))
    assert simulator.requests == [payload]


@needs_uvicorn
@pytest.mark.anyio
async def test_served_disconnect_is_a_dropped_socket(
    simulator: Simulator, simulator_url: str
) -> None:
    simulator.script(Reply(faults=[Disconnect(after_bytes=250)]))
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        await drain_url(simulator_url, received)
    assert len(received) == 250  # every byte before the cut arrived, then the socket closed


@needs_uvicorn
@pytest.mark.anyio
async def test_served_stall_trips_a_read_timeout(simulator: Simulator, simulator_url: str) -> None:
    simulator.script(Reply(faults=[Stall(after=1)]))
    received = bytearray()
    with pytest.raises(httpx.ReadTimeout):
        await drain_url(simulator_url, received, read_timeout=0.2)
    assert len(parse_sse(bytes(received))) == 2  # role chunk and one delta, then silence


@needs_uvicorn
def test_serve_is_a_sync_and_async_context_manager() -> None:
    sim = Simulator(responses={"ok": True})
    with serve(sim) as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        reply = httpx.post(f"{url}/chat/completions", json=body()).json()
        assert json.loads(reply["choices"][0]["message"]["content"]) == {"ok": True}

    async def main() -> None:
        async with serve(sim) as url:
            async with httpx.AsyncClient() as client:
                models = await client.get(f"{url}/models")
            assert models.status_code == 200

    anyio.run(main)


# ---------------------------------------------------------------------------------------------
# The official openai client understands it
# ---------------------------------------------------------------------------------------------


def asgi_openai(sim: Simulator) -> Any:
    return openai.AsyncOpenAI(
        base_url="http://sim/v1",
        api_key="sk-sim",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=sim)),
    )


@needs_openai
@openai_gc_warning
@pytest.mark.anyio
async def test_openai_streams_content_and_usage_in_process() -> None:
    client = asgi_openai(Simulator(chunk_size=3))
    stream = await client.chat.completions.create(
        model="gpt-sim",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        response_format=JSON_SCHEMA_FORMAT,
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        else:
            usage = chunk.usage
    assert json.loads(text) == generate_value(PERSON_SCHEMA, seed=0)
    assert finish == "stop"
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    await client.close()


@needs_openai
@openai_gc_warning
@pytest.mark.anyio
async def test_openai_reassembles_parallel_tool_calls_in_process() -> None:
    people = [generate_value(PERSON_SCHEMA, seed=n) for n in range(2)]
    client = asgi_openai(Simulator(responses=Reply({"items": people}, tool_calls="per_item")))
    stream = await client.chat.completions.create(
        model="gpt-sim",
        messages=MESSAGES,
        stream=True,
        tools=[person_tool("People", ITEMS_SCHEMA)],
        tool_choice="required",
    )
    arguments: dict[int, str] = {}
    finish = None
    async for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or ():
            arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
        finish = chunk.choices[0].finish_reason or finish
    assert [json.loads(arguments[i]) for i in sorted(arguments)] == people
    assert finish == "tool_calls"
    await client.close()


@needs_openai
@openai_gc_warning
@pytest.mark.anyio
async def test_openai_parse_helpers_in_process() -> None:
    client = asgi_openai(Simulator())
    async with client.chat.completions.stream(
        model="gpt-sim", messages=MESSAGES, response_format=Person
    ) as stream:
        async for _event in stream:
            pass
        completion = await stream.get_final_completion()
    assert completion.choices[0].message.parsed == Person.model_validate(
        generate_value(stream_schema(Person), seed=0)
    )

    tool = openai.pydantic_function_tool(Person)
    parsed = await client.chat.completions.parse(
        model="gpt-sim",
        messages=MESSAGES,
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "Person"}},
    )
    (call,) = parsed.choices[0].message.tool_calls
    assert isinstance(call.function.parsed_arguments, Person)
    assert parsed.choices[0].finish_reason == "stop"
    await client.close()


def stream_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema openai-python sends for ``response_format=model`` (strict mode)."""
    schema: dict[str, Any] = to_strict_json_schema(model)
    return schema


@needs_openai
@openai_gc_warning
@needs_uvicorn
@pytest.mark.anyio
async def test_openai_over_loopback(simulator: Simulator, simulator_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=simulator_url, api_key="sk-sim", max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-sim", messages=MESSAGES, stream=True, response_format=JSON_SCHEMA_FORMAT
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    Person.model_validate_json(text)

    completion = await client.chat.completions.create(
        model="gpt-sim", messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT
    )
    assert completion.choices[0].message.content == text

    simulator.script(Reply(faults=[ErrorStatus(429, retry_after=2)]))
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="gpt-sim", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "2"

    simulator.script(Reply(faults=[ErrorEvent(after=3, message="boom")]))
    stream = await client.chat.completions.create(model="gpt-sim", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="boom"):
        async for _chunk in stream:
            pass
    await client.close()


# ---------------------------------------------------------------------------------------------
# Value generation
# ---------------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str
    zip: Annotated[str, Field(pattern=r"^\d{5}(-\d{4})?$")]


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Tree(BaseModel):
    label: str
    children: list[Tree] = Field(default_factory=list)
    parent: Tree | None = None


class Everything(BaseModel):
    name: str
    email: str | None
    nickname: str | None = None
    title: Annotated[str, Field(min_length=3, max_length=12)]
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}-\d{4}$")]
    color: Color
    mood: Literal["happy", "sad"]
    tags: Annotated[list[str], Field(min_length=2, max_length=4)]
    unique: set[int]
    scores: dict[str, int]
    pair: tuple[int, str]
    ratio: Annotated[float, Field(gt=0, lt=1)]
    step: Annotated[int, Field(multiple_of=5, ge=10, le=40)]
    cents: Annotated[float, Field(multiple_of=0.25, ge=0, le=3)]
    price: decimal.Decimal
    when: dt.datetime
    day: dt.date
    at: dt.time
    ident: uuid.UUID
    address: Address
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    tree: Tree


MODELS: list[type[BaseModel]] = [Person, Address, Everything, Tree]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    index=st.integers(0, len(MODELS) - 1),
    strict=st.booleans() if openai is not None else st.just(False),
)
def test_generated_values_validate(seed: int, index: int, strict: bool) -> None:
    model = MODELS[index]
    schema = stream_schema(model) if strict else model.model_json_schema()
    model.model_validate(generate_value(schema, seed=seed))


def test_generation_is_deterministic_and_seed_sensitive() -> None:
    schema = Everything.model_json_schema()
    assert generate_value(schema, seed=3) == generate_value(schema, seed=3)
    assert len({json.dumps(generate_value(schema, seed=s)) for s in range(5)}) == 5


def test_strings_are_chosen_by_field_name() -> None:
    for seed in range(10):
        person = generate_value(PERSON_SCHEMA, seed=seed)
        assert " " in person["name"]
        local, domain = person["email"].split("@")
        assert local
        assert domain == "example.com"
        assert person["bio"].endswith(".") or len(person["bio"]) == 80


def test_hand_written_schema_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "const": {"const": 42},
            "either": {"type": ["integer", "null"], "exclusiveMinimum": 5, "maximum": 6},
            "old": {"type": "number", "minimum": 1, "exclusiveMinimum": True, "maximum": 1.5},
            "nullable": {"type": "string", "nullable": True, "maxLength": 0},
            "all": {"allOf": [{"minimum": 3}, {"type": "integer", "maximum": 3}]},
            "root": {"$ref": "#/properties/const"},
            "mapping": {"minProperties": 2, "additionalProperties": {"type": "boolean"}},
        },
        "required": ["const", "either", "old", "nullable", "all", "root", "mapping"],
        "additionalProperties": False,
    }
    for seed in range(20):
        value = generate_value(schema, seed=seed)
        assert list(value) == schema["required"]
        assert value["const"] == value["root"] == 42
        assert value["either"] in (6, None)
        assert 1 < value["old"] <= 1.5
        assert value["nullable"] in ("", None)
        assert value["all"] == 3
        assert len(value["mapping"]) >= 2
        assert all(isinstance(v, bool) for v in value["mapping"].values())


def test_recursion_is_bounded() -> None:
    value = generate_value(Tree.model_json_schema(), seed=1, max_depth=2)
    Tree.model_validate(value)
    assert len(json.dumps(value)) < 10_000


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"type": "integer", "minimum": 3, "maximum": 2},
        {"type": "string", "minLength": 3, "maxLength": 2},
        {"$ref": "other.json#/Thing"},
        {"enum": []},
    ],
)
def test_impossible_schemas_raise(schema: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any clear ValueError will do
        generate_value(schema)


def test_simulated_disconnect_is_httpx_remote_protocol_error() -> None:
    assert issubclass(SimulatedDisconnect, httpx.RemoteProtocolError)
    assert TypeAdapter(list[int]).validate_python(
        generate_value({"type": "array", "items": {"type": "integer"}})
    )


@pytest.mark.anyio
async def test_auto_layout_answers_a_list_of_item_tools_with_one_call_per_item() -> None:
    people = [generate_value(PERSON_SCHEMA, seed=n) for n in range(3)]
    sim = Simulator(responses=Reply({"items": people}))  # tool_calls="auto", the default
    item_tool = body(
        stream=True, tools=[person_tool("Person", PERSON_SCHEMA)], tool_choice="required"
    )
    arguments = arguments_of(chunks_of((await post(sim, item_tool)).content))
    assert [json.loads(arguments[i]) for i in sorted(arguments)] == people

    # A tool whose own schema is the wrapper, or a named tool_choice, gets one call.
    wrapper_tool = {**item_tool, "tools": [person_tool("People", ITEMS_SCHEMA)]}
    arguments = arguments_of(chunks_of((await post(sim, wrapper_tool)).content))
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"items": people}}
    named = {**item_tool, "tool_choice": {"type": "function", "function": {"name": "Person"}}}
    arguments = arguments_of(chunks_of((await post(sim, named)).content))
    assert len(arguments) == 1
