"""The Responses and Anthropic decoders on recorded streams (tests/recordings/), under every split.

Each transcript is fed to :class:`SSEDecoder` whole, one byte at a time and at random split
points, and each event to the dialect's decoder: the updates must not depend on the split, and
what they add up to must be what the recording's own final message says (``index.json`` beside
the transcripts holds it, with where each transcript comes from).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamstruct._core._sse import SSEDecoder
from streamstruct._core._wire import ChunkUpdate, ToolCallKey, Usage
from streamstruct._core._wire_anthropic import AnthropicDecoder
from streamstruct._core._wire_responses import ResponsesDecoder

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
DECODERS = {"responses": ResponsesDecoder, "anthropic": AnthropicDecoder}


def _entries(dialect: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((RECORDINGS / dialect / "index.json").read_text())
    return entries


TRANSCRIPTS = [
    pytest.param(dialect, entry, id=f"{dialect}/{entry['file']}")
    for dialect in DECODERS
    for entry in _entries(dialect)
]


def decode(dialect: str, chunks: list[bytes]) -> list[ChunkUpdate]:
    """The updates of a transcript fed to the SSE decoder in these chunks."""
    sse = SSEDecoder()
    decoder = DECODERS[dialect]()
    events = [event for chunk in chunks for event in sse.feed(chunk)] + sse.close()
    return [decoder.decode(json.loads(event.data), event=event.event) for event in events]


def body(dialect: str, entry: dict[str, Any]) -> bytes:
    return (RECORDINGS / dialect / entry["file"]).read_bytes()


@dataclass
class Totals:
    """What the updates of one stream add up to (what the reader would keep)."""

    content: str = ""
    reasoning: str = ""
    refusal: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None

    def __post_init__(self) -> None:
        self.calls: dict[ToolCallKey, str] = {}
        self.ids: dict[ToolCallKey, str] = {}
        self.names: dict[ToolCallKey, str] = {}
        self.done: list[ToolCallKey] = []
        self.errors: list[Any] = []

    def add(self, update: ChunkUpdate) -> None:
        self.content += update.content or ""
        self.reasoning += update.reasoning or ""
        if update.refusal is not None:
            self.refusal = (self.refusal or "") + update.refusal
        for delta in update.tool_calls:
            assert delta.key not in self.done, "a fragment came for a call already reported done"
            self.calls[delta.key] = self.calls.get(delta.key, "") + delta.arguments
            if delta.id is not None:
                self.ids.setdefault(delta.key, delta.id)
            if delta.name is not None:
                self.names.setdefault(delta.key, delta.name)
        self.done.extend(update.calls_done)
        self.finish_reason = update.finish_reason or self.finish_reason
        self.usage = update.usage or self.usage
        if update.error is not None:
            self.errors.append(update.error)


def totals(updates: list[ChunkUpdate]) -> Totals:
    result = Totals()
    for update in updates:
        result.add(update)
    return result


# -- every split gives the same updates ---------------------------------------------------------


@pytest.mark.parametrize(("dialect", "entry"), TRANSCRIPTS)
def test_one_byte_at_a_time_gives_the_updates_of_the_whole(
    dialect: str, entry: dict[str, Any]
) -> None:
    data = body(dialect, entry)
    whole = decode(dialect, [data])
    assert whole  # the transcript holds events at all
    assert decode(dialect, [data[i : i + 1] for i in range(len(data))]) == whole


@pytest.mark.parametrize(("dialect", "entry"), TRANSCRIPTS)
@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_random_splits_give_the_updates_of_the_whole(
    dialect: str, entry: dict[str, Any], cuts: list[int]
) -> None:
    data = body(dialect, entry)
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    chunks = [data[start:end] for start, end in itertools.pairwise(points)]
    assert decode(dialect, chunks) == decode(dialect, [data])


# -- what the updates add up to is what the final message says ---------------------------------

RESPONSES = [p for p in TRANSCRIPTS if p.values[0] == "responses" and p.values[1]["final"]]
ANTHROPIC = [p for p in TRANSCRIPTS if p.values[0] == "anthropic"]


@pytest.mark.parametrize(("dialect", "entry"), RESPONSES)
def test_responses_text_and_calls_are_the_final_response(
    dialect: str, entry: dict[str, Any]
) -> None:
    final = entry["final"]
    got = totals(decode(dialect, [body(dialect, entry)]))
    if entry.get("abbreviated"):
        # The source kept only the first deltas of each message (tests/recordings/README.md).
        assert got.content
        assert final["text"].startswith(got.content)
        assert final["commentary"].startswith(got.reasoning)
    else:
        assert got.content == final["text"]
        assert final["commentary"] in got.reasoning  # a preamble is text to read, not the answer
    assert (got.refusal or "") == final["refusal"]
    assert {str(key): text for key, text in got.calls.items()} == {
        position: call["arguments"] for position, call in final["function_calls"].items()
    }
    for position, call in final["function_calls"].items():
        assert got.names[int(position)] == call["name"]
        assert got.ids[int(position)] == call["call_id"]
    assert sorted(got.done) == sorted(got.calls)  # every call was reported complete, once
    usage = final["usage"]
    assert got.usage == Usage(usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
    expected_finish = final["incomplete_reason"] or final["status"]
    assert got.finish_reason == expected_finish
    assert got.errors == []


@pytest.mark.parametrize(("dialect", "entry"), ANTHROPIC)
def test_anthropic_text_and_tool_input_are_the_final_message(
    dialect: str, entry: dict[str, Any]
) -> None:
    final = entry["final"]
    got = totals(decode(dialect, [body(dialect, entry)]))
    assert got.content == final["text"]
    assert got.reasoning == final["thinking"]
    assert set(got.calls) == {int(index) for index in final["tool_use"]}
    for index, block in final["tool_use"].items():
        text = got.calls[int(index)]
        if block["raw"]:
            assert text == block["raw"]  # byte for byte what the SDK buffered
        else:
            assert json.loads(text) == block["input"]  # no fragments: the start block's input
        assert got.ids[int(index)] == block["id"]
        assert got.names[int(index)] == block["name"]
    assert got.finish_reason == final["stop_reason"]
    usage = final["usage"]
    prompt = (
        usage["input_tokens"]
        + usage.get("cache_creation_input_tokens", 0)
        + usage.get("cache_read_input_tokens", 0)
    )
    assert got.usage == Usage(prompt, usage["output_tokens"], prompt + usage["output_tokens"])
    if final["error"] is None:
        assert got.errors == []
        # A block is complete at its content_block_stop; a truncated one never is.
        truncated = final["stop_reason"] == "max_tokens"
        assert len(got.done) == len(got.calls) - (1 if truncated else 0)
    else:
        assert [error.body for error in got.errors] == [final["error"]]


# -- side channels, errors and ends in particular recordings -----------------------------------


def recorded(dialect: str, name: str) -> Totals:
    (entry,) = [entry for entry in _entries(dialect) if entry["file"] == name]
    return totals(decode(dialect, [body(dialect, entry)]))


def test_reasoning_summary_is_kept_apart_from_the_arguments() -> None:
    got = recorded("responses", "reasoning_function_call.sse")
    assert got.reasoning.startswith("**Calculating step-by-step using calculator**\n\nI'll compute")
    assert got.content == ""
    assert json.loads(got.calls[1]) == {"a": 12, "b": 7, "op": "add"}


def test_deepseek_reasoning_text_is_reasoning() -> None:
    got = recorded("responses", "deepseek_reasoning_text_function_call.sse")
    assert got.reasoning
    assert got.reasoning not in got.calls[1]
    assert json.loads(got.calls[1]) == {"city": "Tokyo"}


def test_anthropic_thinking_is_reasoning_not_content() -> None:
    got = recorded("anthropic", "thinking.sse")
    assert got.reasoning.startswith("This is a straightforward question about pedestrian safety")
    assert got.reasoning not in got.content
    assert got.content.startswith("Here are the basic steps")


def test_responses_error_event_is_a_429_with_its_code() -> None:
    got = recorded("responses", "error_event.sse")
    # The error event, then response.failed repeating it: the reader raises at the first.
    first, second = got.errors
    assert (first.status_code, first.code, first.type) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    assert first.message.startswith("You exceeded your current quota")
    assert second.status_code == 429
    assert second.code == "insufficient_quota"
    assert got.finish_reason is None


def test_responses_failed_is_an_error_of_its_code() -> None:
    got = recorded("responses", "failed.sse")
    (error,) = got.errors
    assert (error.status_code, error.code, error.message) == (
        500,
        "server_error",
        "response failed",
    )


def test_responses_incomplete_keeps_the_reason_as_sent() -> None:
    got = recorded("responses", "incomplete_max_output_tokens.sse")
    assert got.finish_reason == "max_output_tokens"
    assert got.content == "Hello,"


def test_anthropic_overloaded_error_is_a_529_after_the_partial_call() -> None:
    got = recorded("anthropic", "overloaded_error.sse")
    (error,) = got.errors
    assert (error.status_code, error.type, error.message) == (529, "overloaded_error", "Overloaded")
    assert got.calls == {1: '{"locati'}  # what came before the error, for the error's partial
    assert got.done == []


def test_anthropic_refusal_keeps_its_reason_and_explanation() -> None:
    got = recorded("anthropic", "refusal.sse")
    assert got.finish_reason == "refusal"
    assert got.refusal == "This request was refused due to policy."


def test_anthropic_parallel_calls_complete_one_by_one() -> None:
    updates = decode("anthropic", [body("anthropic", {"file": "tool_use_parallel.sse"})])
    done_at = [i for i, update in enumerate(updates) if update.calls_done]
    assert [updates[i].calls_done for i in done_at] == [(1,), (2,)]
    # Call 1 is complete before call 2 starts: an Iterable item can be handed out in between.
    second_start = next(i for i, u in enumerate(updates) if any(d.key == 2 for d in u.tool_calls))
    assert done_at[0] < second_start


def test_unknown_events_change_nothing() -> None:
    assert (
        recorded("responses", "unknown_events.sse").calls
        == recorded("responses", "function_call.sse").calls
    )
    plain, noisy = recorded("anthropic", "text.sse"), recorded("anthropic", "unknown_events.sse")
    assert (noisy.content, noisy.calls, noisy.finish_reason, noisy.usage) == (
        plain.content,
        plain.calls,
        plain.finish_reason,
        plain.usage,
    )


def test_commentary_preamble_is_not_the_answer() -> None:
    got = recorded("responses", "phase_commentary.sse")
    assert got.reasoning == "Got it"  # the fixture keeps the first deltas only
    assert got.content == "Here are a few **AI"


# -- the official SDK, reading the same bytes, agrees ------------------------------------------

SDK_READABLE = [
    p
    for p in RESPONSES
    # openai-python's stream helper needs response.completed (it raises on response.incomplete)
    # and every output item in full; the abbreviated fixture lacks some.
    if p.values[1]["final"]["status"] == "completed" and not p.values[1].get("abbreviated")
]


@pytest.mark.parametrize(("dialect", "entry"), SDK_READABLE)
def test_openai_sdk_stream_helper_reads_the_same_answer(
    dialect: str, entry: dict[str, Any]
) -> None:
    data = body(dialect, entry)

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data, headers={"content-type": "text/event-stream"})

    with httpx.Client(transport=httpx.MockTransport(serve)) as http_client:
        client = openai.OpenAI(
            api_key="sk-test", base_url="http://test/v1", http_client=http_client, max_retries=0
        )
        with client.responses.stream(model="gpt-4o", input="hi") as stream:
            for _ in stream:
                pass
            final = stream.get_final_response()
    got = totals(decode(dialect, [data]))
    refusals = "".join(
        part.refusal
        for item in final.output
        if item.type == "message"
        for part in item.content
        if part.type == "refusal"
    )
    calls = {
        position: item.arguments
        for position, item in enumerate(final.output)
        if item.type == "function_call"
    }
    assert (got.content, got.refusal or "", got.calls) == (final.output_text, refusals, calls)
    assert final.usage is not None
    assert got.usage == Usage(
        final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens
    )
