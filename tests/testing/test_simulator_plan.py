"""The simulator's planner on its own: what an answer says, its stream as abstract events, and
the chat-completions renderer over them (the seam a Responses or Anthropic renderer plugs into);
and the value generator's parts (realistic strings by field name, the regex sampler)."""

from __future__ import annotations

import json
import random
import re

import pytest

from streamstruct.testing import ErrorEvent, MissingDone, Refusal, Reply, Truncate
from streamstruct.testing._answer import (
    _ArgumentsDelta,
    _Call,
    _Done,
    _Failed,
    _Finished,
    _Identity,
    _Opening,
    _Said,
    _TextDelta,
    _ToolCallOpened,
    _Usage,
    _UsageReport,
)
from streamstruct.testing._ask import _read_ask
from streamstruct.testing._chat_render import _ChatRenderer
from streamstruct.testing._plan import (
    _after_deltas,
    _apply_refusal_or_truncation,
    _ending,
    _stream_events,
)
from streamstruct.testing._realistic import _named_string
from streamstruct.testing._regex_sample import _RegexSampler, _Unsatisfiable

MESSAGES = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "User", "parameters": {"type": "object"}}}


def ask(**request: object) -> object:
    return _read_ask({"model": "m", "messages": MESSAGES, "stream": True, **request})


def deltas(events: list[object]) -> list[object]:
    return [e for e in events if isinstance(e, (_TextDelta, _ArgumentsDelta))]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_content_is_an_opening_then_text_deltas_that_join_to_the_text(size: int) -> None:
    text = '{"name":"Ann","bio":"héllo"}'
    said = _Said(text, [], None, "stop")
    events = _stream_events(ask(), said, (size,), "")
    assert events[0] == _Opening("content")
    assert all(isinstance(e, _TextDelta) and e.channel == "content" for e in events[1:])
    assert "".join(e.text for e in events[1:]) == text  # type: ignore[attr-defined]
    assert all(len(e.text) <= size for e in events[1:])  # type: ignore[attr-defined]


def test_tool_calls_open_each_call_then_stream_its_arguments() -> None:
    said = _Said(
        None, [_Call("call_a", '{"a":1}'), _Call("call_b", '{"b":22}')], None, "tool_calls"
    )
    events = _stream_events(ask(tools=[TOOL]), said, (3, 1), "User")
    assert events[0] == _Opening("tools")
    assert events[1] == _ToolCallOpened(0, "call_a", "User")
    opened = [e for e in events if isinstance(e, _ToolCallOpened)]
    assert opened == [_ToolCallOpened(0, "call_a", "User"), _ToolCallOpened(1, "call_b", "User")]
    for index, call in enumerate(said.calls):
        pieces = [e.text for e in events if isinstance(e, _ArgumentsDelta) and e.index == index]
        assert "".join(pieces) == call.arguments


def test_a_refusal_replaces_the_answer_and_truncation_cuts_it_across_calls() -> None:
    said = _Said(None, [_Call("a", "abcdef"), _Call("b", "ghij")], None, "tool_calls")
    assert _apply_refusal_or_truncation(said, [Refusal("no")]) == _Said(None, [], "no", "stop")
    cut = _apply_refusal_or_truncation(said, [Truncate(8)])
    assert cut == _Said(None, [_Call("a", "abcdef"), _Call("b", "gh")], None, "length")
    assert _apply_refusal_or_truncation(said, [MissingDone()]) is said
    refused = _stream_events(ask(), _Said(None, [], "no way", "stop"), (2,), "")
    assert refused[0] == _Opening("refusal")
    assert "".join(e.text for e in deltas(refused)) == "no way"  # type: ignore[attr-defined]


def test_the_ending_is_finish_usage_done_or_a_failure() -> None:
    said = _Said("x", [], None, "stop")
    usage = _Usage(3, 1)
    with_usage = ask(stream_options={"include_usage": True})
    assert _ending(with_usage, said, usage, []) == [_Finished("stop"), _UsageReport(usage), _Done()]
    assert _ending(ask(), said, usage, [MissingDone()]) == [_Finished("stop")]
    error = ErrorEvent(2)
    assert _ending(ask(), said, usage, [error]) == [_Failed(error)]


def test_faults_count_text_deltas_only() -> None:
    events = _stream_events(ask(), _Said("abcdef", [], None, "stop"), (2,), "")
    assert _after_deltas(events, 0) == 0
    assert _after_deltas(events, 1) == 2  # past the opening and the first delta
    assert _after_deltas(events, 99) == len(events)


def renderer(**request: object) -> _ChatRenderer:
    identity = _Identity("abc", 1700000000, "fp_1")
    return _ChatRenderer(ask(**request), identity, random.Random(0), "\n")


def payload(frame: bytes) -> dict[str, object]:
    text = frame.decode()
    assert text.startswith("data: ")
    assert text.endswith("\n\n")
    return json.loads(text[6:])  # type: ignore[no-any-return]


def test_the_chat_renderer_writes_each_event_as_a_chunk() -> None:
    render = renderer(stream_options={"include_obfuscation": False})
    opening = payload(render.event(_Opening("content")))
    assert opening["id"] == "chatcmpl-abc"
    assert opening["object"] == "chat.completion.chunk"
    assert opening["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    delta = payload(render.event(_ArgumentsDelta(1, '{"a"')))["choices"]
    assert delta[0]["delta"] == {"tool_calls": [{"index": 1, "function": {"arguments": '{"a"'}}]}  # type: ignore[index]
    finish = payload(render.event(_Finished("length")))["choices"]
    assert finish[0]["delta"] == {}
    assert finish[0]["finish_reason"] == "length"
    failed = payload(render.event(_Failed(ErrorEvent(code="c"))))
    assert failed["error"]["code"] == "c"  # type: ignore[index]
    assert render.event(_Done()) == b"data: [DONE]\n\n"
    assert render.keep_alive() == b": keep-alive\n\n"


def test_the_chat_renderer_reports_usage_in_a_chunk_without_choices() -> None:
    render = renderer(stream_options={"include_usage": True})
    usage = payload(render.event(_UsageReport(_Usage(5, 2))))
    assert usage["choices"] == []
    assert "obfuscation" not in usage
    assert usage["usage"]["total_tokens"] == 7  # type: ignore[index]
    content = payload(render.event(_TextDelta("content", "hi")))
    assert content["usage"] is None
    assert isinstance(content["obfuscation"], str)


def test_the_chat_renderer_writes_a_whole_answer() -> None:
    said = _Said(None, [_Call("call_a", "{}")], None, "tool_calls")
    body = json.loads(renderer(tools=[TOOL]).whole(said, _Usage(1, 1)))
    message = body["choices"][0]["message"]
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "User", "arguments": "{}"}}
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("field", "looks_like"),
    [
        ("email", r"^[a-z.]+@example\.com$"),
        ("user_name", r"^[a-z]+_\d+$"),
        ("phone", r"^\+1-555-01\d\d$"),
        ("zip", r"^\d{5}$"),
        ("homepage", r"^https://example\.com/\w+$"),
        ("id", r"^[0-9a-f-]{36}$"),
        ("birthday", r"^\d{4}-\d\d-\d\d$"),
        ("slug", r"^\w+-\w+-\w+$"),
        ("sku", r"^[A-Z]{3}-\d{4}$"),
        ("fullName", r"^[A-Z][\w-]+ [A-Z][\w-]+$"),
    ],
)
def test_realistic_strings_follow_the_field_name(field: str, looks_like: str) -> None:
    for seed in range(5):
        assert re.match(looks_like, _named_string(random.Random(seed), field))


@pytest.mark.parametrize(
    "pattern", [r"^[A-Z]{3}-\d{4}$", r"^(ab|cd)+x?$", r"[^a-z]{2,3}\w\s.", r"^\d{5}(-\d{4})?$"]
)
def test_the_regex_sampler_alone_samples_matching_strings(pattern: str) -> None:
    sampler = _RegexSampler(random.Random(1))
    for _ in range(20):
        assert re.search(pattern, sampler.sample(pattern))


def test_the_regex_sampler_refuses_what_it_cannot_sample() -> None:
    with pytest.raises(_Unsatisfiable):
        _RegexSampler(random.Random(1)).sample(r"(?=a)b")


def test_a_reply_is_planned_the_same_through_the_simulator() -> None:
    # The seam changes nothing on the wire: the planner's pieces end as the shell sends them.
    from streamstruct.testing._plan import _plan
    from streamstruct.testing._script import _Settings

    settings = _Settings(0, (4,), 0.0, None, "\n", "json", ())
    plan = _plan(ask(), Reply({"a": 1}), settings, number=0, request_id="r")
    frames = [step for step in plan.steps if isinstance(step, bytes)]
    texts = [payload(f)["choices"][0]["delta"].get("content") for f in frames[:-1]]  # type: ignore[index,union-attr]
    assert "".join(t for t in texts if t) == '{"a":1}'
    assert frames[-1] == b"data: [DONE]\n\n"
