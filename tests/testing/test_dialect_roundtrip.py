"""Round trip: one planned reply, rendered as chat chunks, as a Responses stream and as an
Anthropic stream, and decoded by ``_wire``, ``_wire_responses`` and ``_wire_anthropic`` (after
the SSE decoder, fed at random split points), says the same thing in all three: the same text,
tool calls (name and arguments, in order), refusal, reasoning, outcome, usage and error."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamstruct._core import _wire_anthropic, _wire_responses
from streamstruct._core._sse import SSEDecoder
from streamstruct._core._wire import ChunkDecoder, ChunkUpdate
from streamstruct._core._wire_anthropic import AnthropicDecoder
from streamstruct._core._wire_responses import ResponsesDecoder
from streamstruct.testing._dialects import (
    Frame,
    PlannedCall,
    PlannedError,
    PlannedReply,
    render_anthropic,
    render_chat,
    render_responses,
)

# What "cut short" and "refused" are in each dialect (the reader's sets; chat's are the reader's
# own _INCOMPLETE_REASONS today).
DIALECTS: dict[
    str, tuple[Callable[..., list[Frame]], Callable[[], Any], frozenset[str], frozenset[str]]
] = {
    "chat": (render_chat, ChunkDecoder, frozenset({"length", "content_filter"}), frozenset()),
    "responses": (
        render_responses,
        ResponsesDecoder,
        _wire_responses.INCOMPLETE_REASONS,
        frozenset(),
    ),
    "anthropic": (
        render_anthropic,
        AnthropicDecoder,
        _wire_anthropic.INCOMPLETE_REASONS,
        _wire_anthropic.REFUSAL_REASONS,
    ),
}


@dataclass
class Said:
    """What a stream's updates add up to, in terms every dialect shares."""

    content: str = ""
    reasoning: str = ""
    refusal: str | None = None
    calls: dict[object, list[str]] = field(default_factory=dict)  # key -> [name, arguments]
    finish: str | None = None
    usage: tuple[int, int, int] | None = None
    error: str | None = None

    def add(self, update: ChunkUpdate) -> None:
        self.content += update.content or ""
        self.reasoning += update.reasoning or ""
        if update.refusal is not None:
            self.refusal = (self.refusal or "") + update.refusal
        for delta in update.tool_calls:
            call = self.calls.setdefault(delta.key, ["", ""])
            call[0] = delta.name or call[0]
            call[1] += delta.arguments
        self.finish = update.finish_reason or self.finish
        if update.usage is not None:
            usage = update.usage
            self.usage = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        if update.error is not None:
            self.error = update.error.message

    def summary(self, incomplete: frozenset[str], refused: frozenset[str]) -> dict[str, Any]:
        if self.error is not None:
            outcome = "error"
        elif self.refusal or self.finish in refused:
            outcome = "refused"
        elif self.finish in incomplete:
            outcome = "incomplete"
        else:
            outcome = "complete" if self.finish else "unfinished"
        return {
            "content": self.content,
            "reasoning": self.reasoning,
            "refusal": self.refusal or None,
            "calls": [tuple(call) for call in self.calls.values()],
            "outcome": outcome,
            # A failed stream's usage is whatever came before the failure: not compared.
            "usage": self.usage if outcome != "error" else None,
            "error": self.error,
        }


def said(dialect: str, reply: PlannedReply, cuts: list[int]) -> dict[str, Any]:
    render, decoder_type, incomplete, refused = DIALECTS[dialect]
    body = b"".join(frame for frame, _counts in render(reply))
    points = sorted({min(point, len(body)) for point in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    sse, decoder, total = SSEDecoder(), decoder_type(), Said()
    for event in [e for piece in pieces for e in sse.feed(piece)] + sse.close():
        if event.data != "[DONE]":
            total.add(decoder.decode(json.loads(event.data), event=event.event))
    return total.summary(incomplete, refused)


pieces = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5).map(tuple)
calls = st.lists(
    st.builds(PlannedCall, st.just("call_x"), st.sampled_from(["User", "Pet"]), pieces),
    min_size=1,
    max_size=3,
).map(lambda made: tuple(PlannedCall(f"call_{i}", c.name, c.pieces) for i, c in enumerate(made)))


@st.composite
def replies(draw: st.DrawFn) -> PlannedReply:
    kind = draw(st.sampled_from(["content", "calls", "refusal"]))
    error = draw(
        st.none() | st.builds(PlannedError, st.integers(0, 12), st.text(min_size=1, max_size=20))
    )
    return PlannedReply(
        "model-x",
        content=draw(pieces) if kind == "content" else (),
        calls=draw(calls) if kind == "calls" else (),
        refusal=draw(pieces) if kind == "refusal" else None,
        reasoning=draw(st.lists(st.text(min_size=1, max_size=5), max_size=3).map(tuple)),
        # Anthropic has no content filter reason: "content_filter" is its refusal (tested below).
        cut=None if kind == "refusal" else draw(st.sampled_from([None, "length"])),
        error=error,
        prompt_tokens=draw(st.integers(1, 10_000)),
        completion_tokens=draw(st.integers(1, 10_000)),
        seed=draw(st.integers(0, 1000)),
    )


@settings(max_examples=150, deadline=None)
@given(reply=replies(), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_the_three_renderings_decode_to_the_same_answer(
    reply: PlannedReply, cuts: list[int]
) -> None:
    chat = said("chat", reply, cuts)
    assert said("responses", reply, cuts) == chat
    anthropic = said("anthropic", reply, cuts)
    if reply.refusal is not None and reply.error is not None:
        # Anthropic's refusal is no stream of deltas: its text comes with the stop reason, so
        # an error before the end leaves none.
        assert anthropic.pop("refusal") is None
        chat.pop("refusal")
    assert anthropic == chat
    # And the answer is the plan's, not three identical mistakes.
    if reply.error is None:
        assert chat["content"] == "".join(reply.content)
        assert chat["calls"] == [(c.name, "".join(c.pieces)) for c in reply.calls]
        assert chat["usage"] == (
            reply.prompt_tokens,
            reply.completion_tokens,
            reply.prompt_tokens + reply.completion_tokens,
        )


def test_a_content_filter_cut_is_anthropics_refusal() -> None:
    reply = PlannedReply("m", content=("{",), cut="content_filter")
    assert said("chat", reply, [])["outcome"] == "incomplete"
    assert said("responses", reply, [])["outcome"] == "incomplete"
    assert said("anthropic", reply, [])["outcome"] == "refused"
