"""The recorded Responses and Anthropic streams, replayed byte-exact to the client over a socket.

Each recording in tests/recordings/{responses,anthropic}/ (their README says where each comes
from) is served by a loopback HTTP server as a chunked body, whole and cut at many places (every
7 bytes, and at random points with three seeds), to the async client on asyncio and on trio and
to the sync client, with ``api=`` its dialect. What the client gives is checked against the
recording's own final object in its ``index.json`` (the Responses API's ``response.completed``,
the message the ``anthropic`` SDK builds from the events): the values of the calls or the text,
usage, the finish reason as sent, reasoning, and the typed error of the streams that end in one.

Border: the decoders on every split are tests/core/test_wire_recordings.py's; the request and the
modes per dialect are test_client_dialects.py's.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from pydantic import BaseModel
from reliability_support import Writer, raw_server

import streamstruct
from streamstruct import (
    IncompleteOutputError,
    InternalServerError,
    RateLimitError,
    RefusalError,
    Usage,
)

pytestmark = pytest.mark.anyio

RECORDINGS = Path(__file__).parent.parent / "recordings"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return "asyncio" if flavour == "sync" else flavour


class Capital(BaseModel):
    country: str


class City(BaseModel):
    city: str
    country: str


class Calculation(BaseModel):
    a: int
    b: int
    op: str


class Temperature(BaseModel):
    city: str


class Weather(BaseModel):
    location: str


class Reading(BaseModel):
    location: str
    temperature: int
    condition: str


class Readings(BaseModel):
    elements: list[Reading]


class NoArguments(BaseModel):
    note: str | None = None


class File(BaseModel):
    filename: str
    lines_of_text: list[str]


class Anything(BaseModel):
    value: int


@dataclass(frozen=True)
class Case:
    """How a recording is read: the mode, the response model, and what it must give."""

    mode: str
    model: type[BaseModel]
    iterable: bool = False
    error: type[BaseException] | None = None


CASES: dict[str, Case] = {
    "responses/function_call.sse": Case("tools", Capital),
    "responses/unknown_events.sse": Case("tools", Capital),
    "responses/function_calls_parallel.sse": Case("tools", Capital, iterable=True),
    "responses/json_schema_text.sse": Case("json_schema", City),
    "responses/reasoning_function_call.sse": Case("tools", Calculation),
    "responses/deepseek_reasoning_text_function_call.sse": Case("tools", Temperature),
    "responses/refusal.sse": Case("json_schema", City, error=RefusalError),
    "responses/incomplete_max_output_tokens.sse": Case(
        "md_json", City, error=IncompleteOutputError
    ),
    "responses/error_event.sse": Case("tools", Capital, error=RateLimitError),
    "responses/failed.sse": Case("tools", Capital, error=InternalServerError),
    "anthropic/tool_use.sse": Case("tools", Weather),
    "anthropic/tool_use_parallel.sse": Case("tools", Weather, iterable=True),
    "anthropic/json_tool.sse": Case("tools", Readings),
    "anthropic/tool_no_args.sse": Case("tools", NoArguments),
    "anthropic/refusal.sse": Case("json_schema", City, error=RefusalError),
    "anthropic/max_tokens_tool_use.sse": Case("tools", File, error=IncompleteOutputError),
    "anthropic/overloaded_error.sse": Case("tools", Weather, error=InternalServerError),
    # Prose, not JSON: read for the reasoning (and the usage) the stream carries besides.
    "anthropic/thinking.sse": Case("md_json", Anything, error=streamstruct.StreamStructError),
}


def final_of(name: str) -> dict[str, Any]:
    dialect, file = name.split("/")
    index = json.loads((RECORDINGS / dialect / "index.json").read_text())
    entry = next(e for e in index if e["file"] == file)
    return entry["final"] or {}


def expected_values(name: str) -> list[dict[str, Any]]:
    """The answer's JSON values as the recording's final object has them."""
    final = final_of(name)
    if name.startswith("responses/"):
        calls = final.get("function_calls") or {}
        if calls:
            return [json.loads(c["arguments"]) for _, c in sorted(calls.items())]
        return [json.loads(final["text"])]
    return [block["input"] for _, block in sorted((final.get("tool_use") or {}).items())]


def expected_usage(name: str) -> Usage | None:
    usage = final_of(name).get("usage")
    if usage is None:
        return None
    if name.startswith("responses/"):
        return Usage(usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
    prompt = sum(
        usage.get(k, 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return Usage(prompt, usage["output_tokens"], prompt + usage["output_tokens"])


def expected_finish_reason(name: str) -> str | None:
    final = final_of(name)
    if name.startswith("responses/"):
        return final.get("incomplete_reason") or final.get("status")
    return final.get("stop_reason")  # type: ignore[no-any-return]


def splits(body: bytes) -> list[list[bytes]]:
    """The body whole, every 7 bytes, and cut at random points (three seeds)."""
    out = [[body], [body[i : i + 7] for i in range(0, len(body), 7)]]
    for seed in range(3):
        rng = random.Random(seed)
        points = sorted(rng.sample(range(1, len(body)), min(40, len(body) - 1)))
        edges = [0, *points, len(body)]
        out.append([body[a:b] for a, b in itertools.pairwise(edges)])
    return out


@dataclass
class Read:
    values: list[dict[str, Any]]
    error: BaseException | None
    usage: Usage | None
    finish_reason: str | None
    reasoning: str | None


async def read(flavour: str, base_url: str, api: str, case: Case) -> Read:
    options: dict[str, Any] = {
        "api": api,
        "api_key": "sk-rec",
        "base_url": base_url,
        "mode": case.mode,
        "max_retries": 0,
    }
    call: dict[str, Any] = {"model": "m", "response_model": case.model, "messages": MESSAGES}

    def outcome(stream: Any, got: Iterable[Any], error: BaseException | None) -> Read:
        values = [v.model_dump(exclude_none=True) for v in got]
        return Read(values, error, stream.usage, stream.finish_reason, stream.reasoning)

    if flavour == "sync":

        def run() -> Read:
            with streamstruct.Client(**options) as client:
                c = client.chat.completions
                stream: Any = (
                    c.create_iterable(**call) if case.iterable else c.create_partial(**call)
                )
                with stream:
                    try:
                        final = stream.get_final()
                    except streamstruct.StreamStructError as error:
                        return outcome(stream, [], error)
                return outcome(stream, final if case.iterable else [final], None)

        return await anyio.to_thread.run_sync(run)
    async with streamstruct.AsyncClient(**options) as client:
        c = client.chat.completions
        astream: Any = c.create_iterable(**call) if case.iterable else c.create_partial(**call)
        async with astream:
            try:
                final = await astream.get_final()
            except streamstruct.StreamStructError as error:
                return outcome(astream, [], error)
        return outcome(astream, final if case.iterable else [final], None)


def serving(parts: list[list[bytes]]) -> Callable[[Writer, dict[str, str]], Any]:
    """Each request gets the next way of cutting the body."""
    queue = list(parts)

    async def handler(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        for piece in queue.pop(0):
            await writer.chunk(piece)
        await writer.end_chunked()

    return handler


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_recording_replayed_on_every_split(flavour: str, name: str) -> None:
    case = CASES[name]
    api = name.split("/")[0]
    body = (RECORDINGS / name).read_bytes()
    ways = splits(body)
    async with raw_server(serving(ways)) as (url, log):
        base_url = url if api == "responses" else url.removesuffix("/v1")
        for _ in ways:
            got = await read(flavour, base_url, api, case)
            if case.error is None:
                assert got.error is None, got.error
                assert got.values == expected_values(name)
            else:
                assert isinstance(got.error, case.error), got.error
                check_error(name, got.error)
            assert got.usage == expected_usage(name)
            assert got.finish_reason == expected_finish_reason(name)
            thinking = final_of(name).get("thinking")
            if thinking:
                assert got.reasoning == thinking
            if "reasoning" in name:
                assert got.reasoning
        paths = {connection.requests[0][":target"] for connection in log.connections}
        assert paths == {"/v1/responses" if api == "responses" else "/v1/messages"}


def check_error(name: str, error: BaseException) -> None:
    final = final_of(name)
    if isinstance(error, RefusalError):
        refusal = final.get("refusal")
        if refusal:
            assert error.refusal == refusal
    if name == "anthropic/overloaded_error.sse":
        assert isinstance(error, InternalServerError)
        assert error.status_code == 529
        assert error.body["type"] == final["error"]["type"]
    if name == "anthropic/max_tokens_tool_use.sse":
        assert isinstance(error, IncompleteOutputError)
        partial = error.partial
        expected = final["tool_use"]["1"]["input"]
        assert partial.filename == expected["filename"]
        assert partial.lines_of_text
        assert error.text == final["tool_use"]["1"]["raw"]
