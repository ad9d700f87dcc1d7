"""The Responses and Anthropic decoders event by event: shapes, keys, errors, usage, ends.

The recorded streams are replayed in test_wire_recordings.py; here each rule of the module
docstrings is pinned on the smallest events that show it (shapes per docs/dialects.md).
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamstruct import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    MalformedChunkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from streamstruct._core._wire import APIErrorInfo, ChunkDecoder, ChunkUpdate, ToolCallDelta, Usage
from streamstruct._core._wire_anthropic import AnthropicDecoder
from streamstruct._core._wire_responses import ResponsesDecoder

# -- Responses ---------------------------------------------------------------------------------


def responses(*events: dict[str, Any]) -> list[ChunkUpdate]:
    decoder = ResponsesDecoder()
    return [decoder.decode(event, event=str(event.get("type"))) for event in events]


def call_added(index: int, item_id: str, name: str = "f", arguments: str = "") -> dict[str, Any]:
    item = {"type": "function_call", "id": item_id, "call_id": f"call_{index}", "name": name}
    return {
        "type": "response.output_item.added",
        "output_index": index,
        "item": {**item, "arguments": arguments, "status": "in_progress"},
    }


def test_responses_text_delta_is_content() -> None:
    (update,) = responses(
        {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "delta": '{"a'}
    )
    assert update == ChunkUpdate(content='{"a')


def test_responses_commentary_message_text_is_reasoning_not_content() -> None:
    message = {"type": "message", "id": "m", "role": "assistant", "content": []}
    updates = responses(
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "phase": "commentary"},
        },
        {
            "type": "response.output_text.delta",
            "item_id": "m",
            "output_index": 0,
            "delta": "Let me check.",
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**message, "phase": "final_answer"},
        },
        {"type": "response.output_text.delta", "item_id": "m2", "output_index": 1, "delta": "{}"},
    )
    assert [u.reasoning for u in updates] == [None, "Let me check.", None, None]
    assert [u.content for u in updates] == [None, None, None, "{}"]
    odd = ResponsesDecoder()
    odd.decode(
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "phase": "commentary"},
        }
    )
    assert (
        odd.decode(
            {"type": "response.output_text.delta", "output_index": [0], "delta": "x"}
        ).content
        == "x"
    )


def test_responses_calls_are_keyed_by_output_index_even_when_item_ids_change() -> None:
    # A GitHub Copilot proxy sends a new item_id on every event (vercel/ai fixture
    # github-copilot-id-rotation): the output_index is what stays put.
    updates = responses(
        call_added(0, "fc_a"),
        call_added(1, "fc_b", name="g"),
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "x1",
            "output_index": 1,
            "delta": "{}",
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "x2",
            "output_index": 0,
            "delta": "[]",
        },
    )
    assert updates[0].tool_calls == (ToolCallDelta(0, "call_0", "f", ""),)
    assert updates[1].tool_calls == (ToolCallDelta(1, "call_1", "g", ""),)
    assert updates[2].tool_calls == (ToolCallDelta(1, None, None, "{}"),)
    assert updates[3].tool_calls == (ToolCallDelta(0, None, None, "[]"),)


def test_responses_event_without_output_index_finds_its_call_by_item_id() -> None:
    updates = responses(
        call_added(3, "fc_a"),
        {"type": "response.function_call_arguments.delta", "item_id": "fc_a", "delta": "{"},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_new", "delta": "["},
    )
    assert updates[1].tool_calls == (ToolCallDelta(3, None, None, "{"),)
    assert updates[2].tool_calls == (ToolCallDelta("fc_new", None, None, "["),)


def test_responses_call_is_done_once_with_its_arguments_sent_whole_if_no_delta_came() -> None:
    updates = responses(
        call_added(0, "fc_a"),
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_a",
            "output_index": 0,
            "arguments": '{"x":1}',
            "name": "f",
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {"type": "function_call", "id": "fc_a", "arguments": '{"x":1}'},
        },
    )
    assert updates[1] == ChunkUpdate(
        tool_calls=(ToolCallDelta(0, None, None, '{"x":1}'),), calls_done=(0,)
    )
    assert updates[2] == ChunkUpdate()  # the item's done repeats what was said


def test_responses_item_done_alone_completes_the_call() -> None:
    updates = responses(
        call_added(0, "fc_a", arguments='{"whole":true}'),
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {"type": "function_call", "id": "fc_a", "arguments": '{"whole":true}'},
        },
    )
    assert updates[0].tool_calls == (ToolCallDelta(0, "call_0", "f", '{"whole":true}'),)
    assert updates[1] == ChunkUpdate(calls_done=(0,))


def test_responses_refusal_part_announces_itself_then_deltas_follow() -> None:
    updates = responses(
        {
            "type": "response.content_part.added",
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "refusal", "refusal": ""},
        },
        {
            "type": "response.refusal.delta",
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "No.",
        },
        {
            "type": "response.content_part.added",
            "item_id": "m",
            "output_index": 0,
            "content_index": 1,
            "part": {"type": "output_text", "text": ""},
        },
    )
    assert [u.refusal for u in updates] == ["", "No.", None]


@pytest.mark.parametrize(
    ("kind", "response", "finish"),
    [
        ("response.completed", {"status": "completed"}, "completed"),
        ("response.completed", {}, "completed"),
        (
            "response.incomplete",
            {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
            "content_filter",
        ),
        ("response.incomplete", {"status": "incomplete", "incomplete_details": None}, "incomplete"),
    ],
)
def test_responses_end_events_give_the_finish_reason_as_sent(
    kind: str, response: dict[str, Any], finish: str
) -> None:
    (update,) = responses({"type": kind, "response": response})
    assert update == ChunkUpdate(finish_reason=finish)


def test_responses_usage_maps_input_output_total() -> None:
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }
    (update,) = responses(
        {"type": "response.completed", "response": {"status": "completed", "usage": usage}}
    )
    assert update.usage == Usage(10, 5, 15)
    (partial,) = responses(
        {"type": "response.completed", "response": {"usage": {"output_tokens": 3}}}
    )
    assert partial.usage == Usage(0, 3, 3)
    (odd,) = responses({"type": "response.completed", "response": {"usage": "n/a"}})
    assert odd.usage is None


@pytest.mark.parametrize(
    ("payload", "cls", "status"),
    [
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None},
            RateLimitError,
            429,
        ),
        ({"type": "error", "code": "server_error", "message": "oops"}, InternalServerError, 500),
        ({"type": "error", "code": "invalid_prompt", "message": "no"}, BadRequestError, 400),
        (
            {
                "type": "error",
                "error": {
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                    "message": "quota",
                },
            },
            RateLimitError,
            429,
        ),
        ({"type": "error", "code": "some_new_code", "message": "?"}, APIStatusError, 200),
        ({"type": "error", "code": None, "message": "?"}, APIStatusError, 200),
    ],
)
def test_responses_error_events_map_to_status_classes(
    payload: dict[str, Any], cls: type[APIStatusError], status: int
) -> None:
    (update,) = responses(payload)
    assert update.error is not None
    error = update.error.to_exception(request_id="req_1")
    assert type(error) is cls
    assert (error.status_code, error.request_id) == (status, "req_1")
    assert str(payload.get("message") or payload.get("error", {}).get("message")) in str(error)


def test_responses_event_named_error_is_an_error_whatever_its_data() -> None:
    update = ResponsesDecoder().decode({"message": "gateway down"}, event="error")
    assert update.error is not None
    assert update.error.message == "gateway down"


def test_responses_failed_without_an_error_object_is_still_an_error() -> None:
    (update,) = responses(
        {"type": "response.failed", "response": {"status": "failed", "error": None}}
    )
    assert update.error is not None
    assert update.error.message == "the response failed"
    assert update.error.to_exception().status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "response.created", "response": {"id": "r"}},
        {"type": "response.in_progress", "response": {}},
        {"type": "response.output_text.done", "text": "whatever"},
        {"type": "response.content_part.done", "part": {"type": "output_text"}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "message", "content": []},
        },
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning"}},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {"type": "web_search_call"},
        },
        {"type": "response.web_search_call.searching", "output_index": 0},
        {"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "x"},
        {"type": "response.some_event_from_next_year", "delta": 5},
        {"delta": "no type at all"},
    ],
)
def test_responses_events_we_do_not_read_add_nothing(payload: dict[str, Any]) -> None:
    assert ResponsesDecoder().decode(payload, event=None) == ChunkUpdate()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            [1, 2],
            "malformed Responses event response.output_text.delta: the data is a list ([1, 2]), expected an object",
        ),
        (
            {"type": "response.output_text.delta", "delta": 5},
            "malformed Responses event response.output_text.delta: delta is a number (5), expected a string",
        ),
        (
            {"type": "response.function_call_arguments.delta", "output_index": "0", "delta": "x"},
            "output_index is a string ('0'), expected an integer",
        ),
        (
            {"type": "response.function_call_arguments.delta", "delta": "x"},
            "it has neither output_index nor item_id",
        ),
        (
            {"type": "response.output_item.added", "output_index": 0, "item": None},
            "item is null (None), expected an object",
        ),
        (
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "function_call", "name": 7},
            },
            "item.name is a number (7), expected a string or null",
        ),
        (
            {"type": "response.completed", "response": []},
            "response is a list ([]), expected an object",
        ),
        (
            {"type": "response.reasoning_summary_text.delta", "delta": None},
            "delta is null (None), expected a string",
        ),
    ],
)
def test_responses_malformed_events_raise_naming_the_path(payload: object, message: str) -> None:
    with pytest.raises(APIError) as caught:
        ResponsesDecoder().decode(payload, event="response.output_text.delta")
    assert message in str(caught.value)
    assert type(caught.value) is MalformedChunkError


# -- Anthropic ---------------------------------------------------------------------------------


def anthropic(*events: dict[str, Any]) -> list[ChunkUpdate]:
    decoder = AnthropicDecoder()
    return [decoder.decode(event, event=str(event.get("type"))) for event in events]


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def tool(index: int, tool_id: str = "toolu_1", name: str = "f") -> dict[str, Any]:
    return block_start(index, {"type": "tool_use", "id": tool_id, "name": name, "input": {}})


def test_anthropic_tool_use_fragments_are_keyed_by_block_index_and_done_at_stop() -> None:
    updates = anthropic(
        tool(0),
        tool(1, "toolu_2", "g"),
        block_delta(1, {"type": "input_json_delta", "partial_json": '{"b"'}),
        block_delta(0, {"type": "input_json_delta", "partial_json": '{"a"'}),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_stop", "index": 1},
    )
    assert updates[0].tool_calls == (ToolCallDelta(0, "toolu_1", "f", ""),)
    assert updates[1].tool_calls == (ToolCallDelta(1, "toolu_2", "g", ""),)
    assert updates[2].tool_calls == (ToolCallDelta(1, None, None, '{"b"'),)
    assert updates[3].tool_calls == (ToolCallDelta(0, None, None, '{"a"'),)
    assert updates[4] == ChunkUpdate(calls_done=(0,))
    assert updates[5] == ChunkUpdate(calls_done=(1,))


def test_anthropic_tool_without_arguments_sends_its_start_input_at_stop() -> None:
    updates = anthropic(
        block_start(2, {"type": "tool_use", "id": "t", "name": "f", "input": {"preset": [1]}}),
        block_delta(2, {"type": "input_json_delta", "partial_json": ""}),
        {"type": "content_block_stop", "index": 2},
    )
    assert updates[2] == ChunkUpdate(
        tool_calls=(ToolCallDelta(2, None, None, '{"preset": [1]}'),), calls_done=(2,)
    )


def test_anthropic_only_text_and_tool_use_blocks_feed_the_json() -> None:
    updates = anthropic(
        block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        block_delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
        block_delta(0, {"type": "signature_delta", "signature": "c2ln"}),
        block_start(1, {"type": "redacted_thinking", "data": "opaque"}),
        block_start(2, {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}),
        block_delta(2, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}),
        {"type": "content_block_stop", "index": 2},
        block_start(3, {"type": "text", "text": ""}),
        block_delta(3, {"type": "text_delta", "text": "[1]"}),
        block_delta(3, {"type": "citations_delta", "citation": {"type": "char_location"}}),
        block_delta(3, {"type": "a_delta_from_next_year", "text": "not this"}),
        block_delta(3, {"type": "input_json_delta", "partial_json": "not a tool block"}),
    )
    assert updates[1] == ChunkUpdate(reasoning="hmm")
    assert updates[8] == ChunkUpdate(content="[1]")
    rest = [u for i, u in enumerate(updates) if i not in (1, 8)]
    assert rest == [ChunkUpdate()] * len(rest)


def test_anthropic_text_in_a_start_block_is_not_lost() -> None:
    updates = anthropic(
        block_start(0, {"type": "text", "text": "pre"}),
        block_start(1, {"type": "thinking", "thinking": "filled", "signature": ""}),
    )
    assert updates == [ChunkUpdate(content="pre"), ChunkUpdate(reasoning="filled")]


def test_anthropic_usage_adds_cache_counts_to_the_prompt_and_keeps_them_across_events() -> None:
    start = {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 10,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 1,
            }
        },
    }
    updates = anthropic(
        start,
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_delta", "delta": {}, "usage": {"input_tokens": 12, "output_tokens": 9}},
        {"type": "message_delta", "delta": {}, "usage": None},
    )
    assert [u.usage for u in updates] == [
        Usage(1110, 1, 1111),
        Usage(1110, 7, 1117),
        Usage(1112, 9, 1121),
        None,
    ]
    assert updates[1].finish_reason == "end_turn"


@pytest.mark.parametrize(
    "reason",
    [
        "end_turn",
        "tool_use",
        "max_tokens",
        "stop_sequence",
        "pause_turn",
        "model_context_window_exceeded",
        "a_reason_from_next_year",
    ],
)
def test_anthropic_stop_reason_is_kept_as_sent(reason: str) -> None:
    (update,) = anthropic(
        {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 1}}
    )
    assert update.finish_reason == reason
    assert update.refusal is None


def test_anthropic_refusal_without_details_has_no_refusal_text() -> None:
    (update,) = anthropic(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "refusal", "stop_details": None},
            "usage": {"output_tokens": 0},
        }
    )
    assert (update.finish_reason, update.refusal) == ("refusal", None)


@pytest.mark.parametrize(
    ("kind", "cls", "status"),
    [
        ("overloaded_error", InternalServerError, 529),
        ("api_error", InternalServerError, 500),
        ("timeout_error", InternalServerError, 504),
        ("rate_limit_error", RateLimitError, 429),
        ("invalid_request_error", BadRequestError, 400),
        ("authentication_error", AuthenticationError, 401),
        ("permission_error", PermissionDeniedError, 403),
        ("not_found_error", NotFoundError, 404),
        ("billing_error", APIStatusError, 402),
        ("request_too_large", APIStatusError, 413),
        ("an_error_from_next_year", APIStatusError, 200),
    ],
)
def test_anthropic_error_types_map_to_status_classes(
    kind: str, cls: type[APIStatusError], status: int
) -> None:
    (update,) = anthropic({"type": "error", "error": {"type": kind, "message": "Overloaded"}})
    assert update.error == APIErrorInfo(
        "Overloaded",
        None,
        kind,
        {"type": kind, "message": "Overloaded"},
        status if status != 200 else None,
    )
    error = update.error.to_exception(request_id="req_011")
    assert type(error) is cls
    assert (error.status_code, error.body, error.request_id) == (
        status,
        {"type": kind, "message": "Overloaded"},
        "req_011",
    )
    assert f"type {kind}" in str(error)
    assert "Overloaded" in str(error)


def test_anthropic_event_named_error_with_a_bare_body_is_an_error() -> None:
    update = AnthropicDecoder().decode(
        {"type": "overloaded_error", "message": "busy"}, event="error"
    )
    assert update.error is not None
    assert update.error.status_code == 529


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "ping"},
        {"type": "message_stop"},
        {"type": "message_start", "message": {"id": "m", "usage": None}},
        {"type": "content_block_stop", "index": 9},
        {"type": "an_event_from_next_year", "index": "anything"},
    ],
)
def test_anthropic_events_we_do_not_read_add_nothing(payload: dict[str, Any]) -> None:
    assert AnthropicDecoder().decode(payload, event=str(payload["type"])) == ChunkUpdate()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [None],
            "malformed Anthropic event content_block_delta: the data is null (None), expected an object",
        ),
        (
            [block_delta(0, {"type": "text_delta", "text": "x"})],
            "index 0 names no block that a content_block_start began",
        ),
        (
            [{"type": "content_block_delta", "index": True, "delta": {}}],
            "index is a boolean (True), expected an integer",
        ),
        (
            [
                block_start(0, {"type": "text", "text": ""}),
                block_delta(0, {"type": "text_delta", "text": 3}),
            ],
            "delta.text is a number (3), expected a string",
        ),
        (
            [
                block_start(0, {"type": "text", "text": ""}),
                {"type": "content_block_delta", "index": 0, "delta": "x"},
            ],
            "delta is a string ('x'), expected an object",
        ),
        (
            [tool(0), block_delta(0, {"type": "input_json_delta"})],
            "delta.partial_json is null (None), expected a string",
        ),
        (
            [block_start(0, {"type": "tool_use", "name": "f", "input": {}})],
            "content_block.id is null (None), expected a string",
        ),
        (
            [block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": "{}"})],
            "content_block.input is a string ('{}'), expected an object",
        ),
        (
            [{"type": "content_block_start", "index": 0}],
            "content_block is null (None), expected an object",
        ),
        ([{"type": "message_start", "message": []}], "message is a list ([]), expected an object"),
        (
            [{"type": "message_delta", "delta": {"stop_reason": 1}}],
            "delta.stop_reason is a number (1), expected a string or null",
        ),
    ],
)
def test_anthropic_malformed_events_raise_naming_the_path(events: list[Any], message: str) -> None:
    decoder = AnthropicDecoder()
    *before, last = events
    for event in before:
        decoder.decode(event, event="content_block_delta")
    with pytest.raises(APIError) as caught:
        decoder.decode(last, event="content_block_delta")
    assert message in str(caught.value)
    assert type(caught.value) is MalformedChunkError


# -- what the dialects added to _wire is backward compatible ------------------------------------


def test_chat_updates_and_errors_are_unchanged_by_the_new_fields() -> None:
    update = ChunkDecoder().decode({"choices": [{"index": 0, "delta": {"content": "x"}}]})
    assert update == ChunkUpdate(content="x")
    assert update.calls_done == ()
    info = APIErrorInfo("m", 503, None, {"message": "m"})
    assert info.status is None
    assert info.status_code == 503
    assert pickle.loads(pickle.dumps(info)) == info
    mapped = APIErrorInfo("m", "code", None, {"status": 400}, status=529)
    assert mapped.status_code == 529  # the decoder's mapping wins over what the body says


def test_decoders_take_json_loads_output_of_recorded_event_data() -> None:
    # The reader hands each decoder json.loads(event.data): non-ASCII text and escapes survive.
    data = json.loads(
        '{"type":"response.output_text.delta","output_index":0,"delta":"\\u00e9\\"\\n"}'
    )
    assert ResponsesDecoder().decode(data).content == 'é"\n'


# -- any payload: an update or our error, never anything else ----------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = [
    "delta",
    "output_index",
    "item_id",
    "item",
    "part",
    "arguments",
    "response",
    "error",
    "code",
    "message",
    "index",
    "content_block",
    "message",
    "usage",
    "stop_reason",
    "partial_json",
    "text",
    "type",
    "id",
    "name",
    "input",
    "phase",
    "status",
    "incomplete_details",
    "stop_details",
]
_TYPES = [
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
]
_events = st.one_of(
    _json,
    st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.sampled_from(_TYPES),
        st.dictionaries(
            st.sampled_from(_FIELDS),
            _json | st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=4),
            max_size=5,
        ),
    ),
)


@pytest.mark.parametrize("decoder_class", [ResponsesDecoder, AnthropicDecoder])
@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(
        st.tuples(_events, st.sampled_from([None, "error", "message", *_TYPES])), max_size=8
    )
)
def test_any_event_gives_an_update_or_an_api_error(
    decoder_class: type[ResponsesDecoder] | type[AnthropicDecoder],
    events: list[tuple[object, str | None]],
) -> None:
    decoder = decoder_class()
    for payload, name in events:
        failure: APIError | None = None
        try:
            update = decoder.decode(payload, event=name)
        except APIError as error:
            failure = error
        if failure is not None:
            # A malformed event is our error, naming what was wrong; the stream stops there.
            assert type(failure) is MalformedChunkError
            assert str(failure).startswith("malformed ")
            return
        assert isinstance(update, ChunkUpdate)
        if update.error is not None:
            assert isinstance(update.error.to_exception(), APIStatusError)
