"""Chunk decoding on recorded payloads of each server (shared/reference/wire-formats.md)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from streamstruct import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MalformedChunkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from streamstruct._core import _updates
from streamstruct._core._wire import (
    APIErrorInfo,
    ChunkDecoder,
    ChunkUpdate,
    ToolCallDelta,
    Usage,
    parse_completion,
    status_error,
)


def decode_all(stream: str) -> list[ChunkUpdate]:
    """Decode the ``data:`` lines of a recorded stream (one event per line) with one decoder."""
    decoder = ChunkDecoder()
    updates = []
    for line in stream.strip().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            updates.append(decoder.decode(json.loads(line[len("data: ") :])))
    return updates


def content(updates: list[ChunkUpdate]) -> str:
    return "".join(u.content or "" for u in updates)


def arguments_by_key(updates: list[ChunkUpdate]) -> dict[Any, str]:
    calls: dict[Any, str] = {}
    for update in updates:
        for delta in update.tool_calls:
            calls[delta.key] = calls.get(delta.key, "") + delta.arguments
    return calls


def first_names(updates: list[ChunkUpdate]) -> dict[Any, str]:
    names: dict[Any, str] = {}
    for update in updates:
        for delta in update.tool_calls:
            if delta.name is not None:
                names.setdefault(delta.key, delta.name)
    return names


# -- OpenAI (§2) -------------------------------------------------------------------------------

OPENAI_CONTENT = """
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":"{\\""},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":"city"},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":"\\":\\"San Francisco\\"}"},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}
data: {"id":"chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF","object":"chat.completion.chunk","created":1727346169,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[],"usage":{"prompt_tokens":79,"completion_tokens":14,"total_tokens":93,"completion_tokens_details":{"reasoning_tokens":0}}}
data: [DONE]
"""


def test_openai_content_stream() -> None:
    updates = decode_all(OPENAI_CONTENT)
    assert content(updates) == '{"city":"San Francisco"}'
    assert updates[0] == ChunkUpdate(content="")  # role chunk: refusal null is None
    assert [u.finish_reason for u in updates] == [None, None, None, None, "stop", None]
    assert updates[-1] == ChunkUpdate(usage=Usage(79, 14, 93))
    assert all(u.error is None and u.tool_calls == () for u in updates)


OPENAI_TOOLS = """
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_JMW1whyEaYG438VE1OIflxA2","type":"function","function":{"name":"GetWeatherArgs","arguments":""}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":\\"Edinburgh\\",\\"country\\":\\"UK\\",\\"units\\":\\""}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"c\\"}"}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_DNYTawLBoN8fj3KN6qU9N1Ou","type":"function","function":{"name":"get_stock_price","arguments":""}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\\"ti"}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"cker\\":\\"AAPL\\"}"}}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}
data: {"id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[],"usage":{"prompt_tokens":149,"completion_tokens":60,"total_tokens":209,"completion_tokens_details":{"reasoning_tokens":0}}}
data: [DONE]
"""


def test_openai_parallel_tool_calls_are_keyed_by_index() -> None:
    updates = decode_all(OPENAI_TOOLS)
    assert updates[0] == ChunkUpdate()  # content null: nothing new
    assert updates[1].tool_calls == (
        ToolCallDelta(
            key=0, id="call_JMW1whyEaYG438VE1OIflxA2", name="GetWeatherArgs", arguments=""
        ),
    )
    assert updates[2].tool_calls[0].id is None
    assert updates[2].tool_calls[0].name is None
    calls = arguments_by_key(updates)
    assert calls == {
        0: '{"city":"Edinburgh","country":"UK","units":"c"}',
        1: '{"ticker":"AAPL"}',
    }
    assert first_names(updates) == {0: "GetWeatherArgs", 1: "get_stock_price"}
    assert updates[-2].finish_reason == "tool_calls"
    assert updates[-1].usage == Usage(149, 60, 209)


OPENAI_REFUSAL = """
data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"refusal":"I'm"},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"refusal":" sorry"},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}
"""


def test_openai_refusal_deltas() -> None:
    updates = decode_all(OPENAI_REFUSAL)
    assert updates[0].refusal == ""  # "" is kept: it is how a refusal announces itself
    assert updates[0].content is None
    assert "".join(u.refusal or "" for u in updates) == "I'm sorry"
    assert updates[-1].finish_reason == "stop"


OPENAI_LENGTH = """
data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{"content":"{\\""},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}
data: {"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk","created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[],"usage":{"prompt_tokens":79,"completion_tokens":1,"total_tokens":80,"completion_tokens_details":{"reasoning_tokens":0}}}
"""


def test_openai_length_finish() -> None:
    updates = decode_all(OPENAI_LENGTH)
    assert content(updates) == '{"'
    assert updates[2].finish_reason == "length"
    assert updates[3].usage == Usage(79, 1, 80)


OPENAI_ERROR = """
data: {"id":"chatcmpl-BwoiPTGRbKkY5rncfaM0s9KtWrq5N","object":"chat.completion.chunk","created":1753357673,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_51e1070cf2","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"id":"chatcmpl-BwoiPTGRbKkY5rncfaM0s9KtWrq5N","object":"chat.completion.chunk","created":1753357673,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_51e1070cf2","choices":[{"index":0,"delta":{"content":"The"},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error"}}
"""


def test_openai_in_band_error() -> None:
    updates = decode_all(OPENAI_ERROR)
    assert content(updates[:2]) == "The"
    error = updates[2].error
    assert error == APIErrorInfo(
        message="The server had an error while processing your request. Sorry about that!",
        code=None,
        type="server_error",
        body={
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
        },
    )
    assert error.status_code is None
    exc = error.to_exception(request_id="req_1")
    # No numeric code: the status is the 200 of the response, so the base class.
    assert type(exc) is APIStatusError
    assert exc.status_code == 200
    assert exc.request_id == "req_1"
    assert exc.body == error.body
    assert "server_error" in str(exc)
    assert "Sorry about that!" in str(exc)


# -- other servers (§3) ------------------------------------------------------------------------

AZURE = """
data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}
data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt","model":"gpt-5-nano-2025-08-07","obfuscation":"D3WbtIxo1Q2j1Q","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}
data: {"choices":[{"content_filter_results":{},"delta":{"content":"{}"},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt","model":"gpt-5-nano-2025-08-07","obfuscation":"D3WbtIxo1Q2j1Q","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}
data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt","model":"gpt-5-nano-2025-08-07","obfuscation":"Zarov0xJhP","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}
data: {"choices":[],"created":1762317021,"id":"chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt","model":"gpt-5-nano-2025-08-07","obfuscation":"DjqQ9RbEQMJ3PX","object":"chat.completion.chunk","system_fingerprint":null,"usage":{"completion_tokens":78,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":64,"rejected_prediction_tokens":0},"prompt_tokens":15,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":93}}
"""


def test_azure_empty_choices_and_filter_results() -> None:
    updates = decode_all(AZURE)
    assert updates[0] == ChunkUpdate()
    assert content(updates) == "{}"
    assert updates[3].finish_reason == "stop"
    assert updates[4] == ChunkUpdate(usage=Usage(15, 78, 93))


OPENROUTER_ERROR = """
data: {"id":"cmpl-abc123","object":"chat.completion.chunk","created":1234567890,"model":"gpt-3.5-turbo","provider":"openai","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}
"""


def test_openrouter_error_chunk_with_choices() -> None:
    (update,) = decode_all(OPENROUTER_ERROR)
    assert update.error is not None
    assert update.error.message == "Provider disconnected unexpectedly"
    assert update.error.code == "server_error"
    assert update.error.status_code is None
    assert update.content is None  # the rest of an error chunk is not output


def test_openrouter_numeric_error_code_picks_the_class() -> None:
    chunk = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"error_type": "provider_unavailable"},
        },
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    error = ChunkDecoder().decode(chunk).error
    assert error is not None
    exc = error.to_exception()
    assert isinstance(exc, InternalServerError)
    assert exc.status_code == 502
    assert exc.body["metadata"] == {"error_type": "provider_unavailable"}
    rate = ChunkDecoder().decode({"error": {"code": 429, "message": "slow down"}}).error
    assert rate is not None
    assert isinstance(rate.to_exception(), RateLimitError)


def test_vllm_errors_wrapped_and_flat() -> None:
    wrapped = {
        "error": {
            "message": "context too long",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    }
    flat = {
        "object": "error",
        "message": "context too long",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    for chunk in (wrapped, flat):
        error = ChunkDecoder().decode(chunk).error
        assert error is not None
        assert error.message == "context too long"
        assert error.type == "BadRequestError"
        exc = error.to_exception()
        assert isinstance(exc, BadRequestError)
        assert exc.status_code == 400


def test_llamacpp_error_and_event_named_error() -> None:
    chunk = {
        "error": {
            "code": 400,
            "message": "the request exceeds the available context size. try increasing the context size or enable context shift",
            "type": "invalid_request_error",
        }
    }
    error = ChunkDecoder().decode(chunk).error
    assert error is not None
    assert error.status_code == 400
    # fms-guardrails-orchestrator: `event: error` with a body that has no "error" key.
    guarded = ChunkDecoder().decode({"code": 400, "details": "blocked"}, event="error").error
    assert guarded is not None
    assert guarded.status_code == 400
    assert "blocked" in guarded.message
    # The same body without the event name is an ordinary (empty) chunk.
    assert ChunkDecoder().decode({"code": 400, "details": "blocked"}) == ChunkUpdate()


def test_mistral_flat_error_with_object_message() -> None:
    body = {
        "object": "error",
        "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "stream_options"]}]},
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    error = ChunkDecoder().decode(body).error
    assert error is not None
    assert json.loads(error.message) == body["message"]
    assert error.code is None


GROQ = """
data: {"id":"chatcmpl-b610d559-f156-4aca-8827-24b4fe6af54f","object":"chat.completion.chunk","created":1770770843,"model":"llama-3.3-70b-versatile","system_fingerprint":"fp_f8b414701e","choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01kh52nj5yfcat8hrmvrk2j2hj","seed":689520654}}
data: {"id":"chatcmpl-b610d559-f156-4aca-8827-24b4fe6af54f","object":"chat.completion.chunk","created":1770770843,"model":"llama-3.3-70b-versatile","system_fingerprint":"fp_f8b414701e","choices":[{"index":0,"delta":{"tool_calls":[{"id":"tk85n1k4m","type":"function","function":{"name":"weather","arguments":"{}"},"index":0}]},"logprobs":null,"finish_reason":null}]}
data: {"id":"chatcmpl-b610d559-f156-4aca-8827-24b4fe6af54f","object":"chat.completion.chunk","created":1770770843,"model":"llama-3.3-70b-versatile","system_fingerprint":"fp_f8b414701e","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"x_groq":{"id":"req_01kh52nj5yfcat8hrmvrk2j2hj","usage":{"queue_time":0.041520249,"prompt_tokens":210,"prompt_time":0.010407901,"completion_tokens":15,"completion_time":0.046601227,"total_tokens":225,"total_time":0.057009128}},"usage":{"queue_time":0.041520249,"prompt_tokens":210,"prompt_time":0.010407901,"completion_tokens":15,"completion_time":0.046601227,"total_tokens":225,"total_time":0.057009128}}
"""


def test_groq_whole_call_in_one_chunk_and_usage_on_finish() -> None:
    updates = decode_all(GROQ)
    assert updates[1].tool_calls == (ToolCallDelta(0, "tk85n1k4m", "weather", "{}"),)
    assert updates[2].finish_reason == "tool_calls"
    assert updates[2].usage == Usage(210, 15, 225)


def test_groq_usage_only_under_x_groq() -> None:
    chunk = {"choices": [], "x_groq": {"usage": {"prompt_tokens": 3, "completion_tokens": 4}}}
    assert ChunkDecoder().decode(chunk).usage == Usage(3, 4, 7)


MISTRAL = """
data: {"id":"b3999b8c93e04e11bcbff7bcab829667","object":"chat.completion.chunk","created":1769088854,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}
data: {"id":"b3999b8c93e04e11bcbff7bcab829667","object":"chat.completion.chunk","created":1769088854,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"content":null,"tool_calls":[{"id":"gSIMJiOkT","function":{"name":"weather","arguments":"{\\"location\\": \\"San Francisco\\"}"}}]},"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":124,"total_tokens":146,"completion_tokens":22}}
"""


def test_mistral_tool_call_without_index_is_keyed_by_id() -> None:
    updates = decode_all(MISTRAL)
    assert updates[1].tool_calls == (
        ToolCallDelta("gSIMJiOkT", "gSIMJiOkT", "weather", '{"location": "San Francisco"}'),
    )
    assert updates[1].finish_reason == "tool_calls"
    assert updates[1].usage == Usage(124, 22, 146)


def test_mistral_two_calls_without_index_in_one_chunk() -> None:
    chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"id": "a1", "function": {"name": "Item", "arguments": '{"n": 1}'}},
                        {"id": "b2", "function": {"name": "Item", "arguments": '{"n": 2}'}},
                    ]
                },
            }
        ]
    }
    (first, second) = ChunkDecoder().decode(chunk).tool_calls
    assert (first.key, second.key) == ("a1", "b2")


DEEPSEEK = """
data: {"id":"cca85624-4056-401f-b220-d77601d1f70d","object":"chat.completion.chunk","created":1764664568,"model":"deepseek-reasoner","system_fingerprint":"fp_eaab8d114b_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"The"},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"id":"cca85624-4056-401f-b220-d77601d1f70d","object":"chat.completion.chunk","created":1764664568,"model":"deepseek-reasoner","system_fingerprint":"fp_eaab8d114b_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_00_ioIn7yN9p1ZOMNpDLwd4MgAF","type":"function","function":{"name":"weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"id":"cca85624-4056-401f-b220-d77601d1f70d","object":"chat.completion.chunk","created":1764664568,"model":"deepseek-reasoner","system_fingerprint":"fp_eaab8d114b_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"id":"cca85624-4056-401f-b220-d77601d1f70d","object":"chat.completion.chunk","created":1764664568,"model":"deepseek-reasoner","system_fingerprint":"fp_eaab8d114b_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}
data: {"id":"cca85624-4056-401f-b220-d77601d1f70d","object":"chat.completion.chunk","created":1764664568,"model":"deepseek-reasoner","system_fingerprint":"fp_eaab8d114b_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":400,"completion_tokens":50,"total_tokens":450,"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":400}}
"""


def test_deepseek_reasoning_is_a_side_channel_and_usage_on_finish() -> None:
    updates = decode_all(DEEPSEEK)
    assert updates[0].reasoning == "The"
    assert updates[0].content is None
    assert arguments_by_key(updates) == {0: "{}"}
    assert updates[-1].finish_reason == "tool_calls"
    assert updates[-1].usage == Usage(400, 50, 450)
    assert all(u.usage is None for u in updates[:-1])


QWEN = """
data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null,"index":0,"logprobs":null}],"object":"chat.completion.chunk","usage":null,"created":1770764938,"system_fingerprint":null,"model":"qwen3-max","id":"chatcmpl-8e243c57-23b3-9db2-a02e-e3c53929c368"}
data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"{\\"location\\": \\"San Francisco"}}]},"finish_reason":null,"index":0,"logprobs":null}],"object":"chat.completion.chunk","usage":null,"created":1770764938,"system_fingerprint":null,"model":"qwen3-max","id":"chatcmpl-8e243c57-23b3-9db2-a02e-e3c53929c368"}
data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"\\"}"}}]},"finish_reason":null,"index":0,"logprobs":null}],"object":"chat.completion.chunk","usage":null,"created":1770764938,"system_fingerprint":null,"model":"qwen3-max","id":"chatcmpl-8e243c57-23b3-9db2-a02e-e3c53929c368"}
data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":""},"index":0,"id":"","type":"function"}]},"index":0}],"object":"chat.completion.chunk","usage":null,"created":1770764938,"system_fingerprint":null,"model":"qwen3-max","id":"chatcmpl-8e243c57-23b3-9db2-a02e-e3c53929c368"}
"""


def test_qwen_empty_id_on_continuations() -> None:
    updates = decode_all(QWEN)
    assert [d.id for u in updates for d in u.tool_calls] == ["call_abc", None, None, None]
    assert arguments_by_key(updates) == {0: '{"location": "San Francisco"}'}


def test_lm_studio_empty_name_on_continuations() -> None:
    decoder = ChunkDecoder()

    def call(**fields: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"tool_calls": [fields]}}]}

    first = decoder.decode(call(index=0, id="1", function={"name": "Item", "arguments": ""}))
    later = decoder.decode(call(index=0, function={"name": "", "arguments": '{"a": 1}'}))
    assert first.tool_calls[0].name == "Item"
    assert later.tool_calls == (ToolCallDelta(0, None, None, '{"a": 1}'),)


def test_llamacpp_arguments_as_an_object_are_serialised() -> None:
    chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "x",
                            "type": "function",
                            "function": {"name": "f", "arguments": {"city": "Zürich", "n": [1, 2]}},
                        }
                    ],
                },
            }
        ]
    }
    (delta,) = ChunkDecoder().decode(chunk).tool_calls
    assert json.loads(delta.arguments) == {"city": "Zürich", "n": [1, 2]}
    assert "Zürich" in delta.arguments


def test_ollama_every_call_at_index_zero_with_distinct_ids() -> None:
    decoder = ChunkDecoder()

    def whole_call(call_id: str, arguments: str) -> dict[str, Any]:
        return {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": call_id,
                                "index": 0,
                                "type": "function",
                                "function": {"name": "Item", "arguments": arguments},
                            }
                        ],
                    },
                    "finish_reason": None,
                }
            ],
            "system_fingerprint": "fp_ollama",
        }

    updates = [
        decoder.decode(whole_call("call_a", '{"n": 1}')),
        decoder.decode(whole_call("call_b", '{"n": 2}')),
        decoder.decode(whole_call("call_c", '{"n": 3}')),
    ]
    assert [u.tool_calls[0].key for u in updates] == [0, "call_b", "call_c"]
    assert arguments_by_key(updates) == {0: '{"n": 1}', "call_b": '{"n": 2}', "call_c": '{"n": 3}'}


def test_reused_index_then_index_only_fragments_follow_the_new_call() -> None:
    decoder = ChunkDecoder()

    def fragment(**fields: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"tool_calls": [fields]}}]}

    keys = [
        decoder.decode(fragment(index=0, id="a", function={"name": "f", "arguments": "{"}))
        .tool_calls[0]
        .key,
        decoder.decode(fragment(index=0, function={"arguments": "}"})).tool_calls[0].key,
        decoder.decode(fragment(index=0, id="b", function={"name": "f", "arguments": "{"}))
        .tool_calls[0]
        .key,
        decoder.decode(fragment(index=0, function={"arguments": "}"})).tool_calls[0].key,
        decoder.decode(fragment(index=0, id="b", function={"arguments": ""})).tool_calls[0].key,
    ]
    assert keys == [0, 0, "b", "b", "b"]


def test_litellm_repeated_id_is_the_same_call() -> None:
    decoder = ChunkDecoder()
    chunks = [
        {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a"'}},
        {"index": 0, "id": "call_1", "function": {"arguments": ": 1}"}},
    ]
    deltas = [
        decoder.decode({"choices": [{"index": 0, "delta": {"tool_calls": [c]}}]}).tool_calls[0]
        for c in chunks
    ]
    assert [d.key for d in deltas] == [0, 0]
    assert [d.id for d in deltas] == ["call_1", "call_1"]  # reported each time: keep the first


def test_continuation_without_index_or_id_follows_the_last_call() -> None:
    decoder = ChunkDecoder()

    def fragment(**fields: Any) -> ChunkUpdate:
        return decoder.decode({"choices": [{"index": 0, "delta": {"tool_calls": [fields]}}]})

    assert fragment(function={"arguments": "{"}).tool_calls[0].key == 0  # before any call
    assert fragment(id="m1", function={"name": "f", "arguments": "{"}).tool_calls[0].key == "m1"
    assert fragment(function={"arguments": "}"}).tool_calls[0].key == "m1"
    assert fragment(id="m1", function={"arguments": ""}).tool_calls[0].key == "m1"


def test_non_zero_first_index_is_a_key_not_a_position() -> None:
    # coder/aibridge: a proxy for Claude starts its first tool call at index 1, without "object".
    decoder = ChunkDecoder()
    first = decoder.decode(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "toolu_1",
                                "function": {"name": "f", "arguments": ""},
                            }
                        ],
                    },
                }
            ]
        }
    )
    later = decoder.decode(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [{"index": 1, "function": {"arguments": "{}"}}],
                    },
                }
            ]
        }
    )
    assert first.tool_calls[0].key == later.tool_calls[0].key == 1


def test_sglang_nulls_everywhere_and_xai_missing_finish_reason() -> None:
    decoder = ChunkDecoder()
    sglang = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": None,
                    "content": None,
                    "tool_calls": None,
                    "reasoning_content": None,
                },
                "finish_reason": None,
                "matched_stop": None,
            }
        ]
    }
    assert decoder.decode(sglang) == ChunkUpdate()
    xai = {"choices": [{"index": 0, "delta": {"content": "{}"}}]}  # no finish_reason key
    assert decoder.decode(xai) == ChunkUpdate(content="{}")


def test_only_choice_zero_is_followed() -> None:
    decoder = ChunkDecoder()
    assert (
        decoder.decode({"choices": [{"index": 1, "delta": {"content": "nope"}}]}) == ChunkUpdate()
    )
    both = {
        "choices": [
            {"index": 2, "delta": {"content": "two"}},
            {"index": 0, "delta": {"content": "zero"}, "finish_reason": None},
        ]
    }
    assert decoder.decode(both).content == "zero"


def test_content_as_a_list_of_parts() -> None:
    chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "content": [
                        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
                        {"type": "text", "text": '{"a":'},
                        {"type": "text", "text": " 1}"},
                    ]
                },
            }
        ]
    }
    assert ChunkDecoder().decode(chunk).content == '{"a": 1}'


def test_usage_is_lenient() -> None:
    decoder = ChunkDecoder()
    assert decoder.decode({"choices": [], "usage": "lots"}).usage is None
    assert decoder.decode({"choices": [], "usage": {}}).usage is None
    assert decoder.decode({"usage": {"prompt_tokens": 5}}).usage == Usage(5, 0, 5)


# -- malformed chunks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        ([1, 2], "malformed chunk: the chunk is a list ([1, 2]), expected an object"),
        ({"choices": "x"}, "malformed chunk: choices is a string ('x'), expected a list"),
        ({"choices": [3]}, "malformed chunk: choices[0] is a number (3), expected an object"),
        (
            {"choices": [{"index": 0, "delta": "hi"}]},
            "malformed chunk: choices[0].delta is a string ('hi'), expected an object",
        ),
        (
            {"choices": [{"index": "0", "delta": {}}]},
            "malformed chunk: choices[0].index is a string ('0'), expected an integer",
        ),
        (
            {"choices": [{"index": 0, "delta": {"content": 5}}]},
            "malformed chunk: choices[0].delta.content is a number (5), expected a string, a list of content parts or null",
        ),
        (
            {"choices": [{"index": 0, "delta": {}, "finish_reason": True}]},
            "malformed chunk: choices[0].finish_reason is a boolean (True), expected a string or null",
        ),
        (
            {"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]},
            "malformed chunk: choices[0].delta.tool_calls is an object ({'index': 0}), expected a list",
        ),
        (
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]},
            "malformed chunk: choices[0].delta.tool_calls[0].function is a string ('f'), expected an object",
        ),
        (
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": 12}}]}}]},
            "malformed chunk: choices[0].delta.tool_calls[0].function.arguments is a number (12), expected a string or an object",
        ),
    ],
)
def test_malformed_chunks_say_where_and_what(chunk: object, expected: str) -> None:
    with pytest.raises(APIError) as info:
        ChunkDecoder().decode(chunk)
    assert type(info.value) is MalformedChunkError
    assert str(info.value) == expected


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(APIError, match=r"is a string \('x{56}\.\.\.\), expected a list$"):
        ChunkDecoder().decode({"choices": "x" * 1000})


# -- status_error ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (529, InternalServerError),
        (402, APIStatusError),
        (408, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_status_error_classes(status: int, cls: type[APIStatusError]) -> None:
    exc = status_error(status, {"error": {"message": "nope"}})
    assert type(exc) is cls
    assert exc.status_code == status
    assert str(exc) == f"HTTP {status}: nope"


def test_status_error_unwraps_the_error_object() -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-…",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    exc = status_error(401, body, request_id="req_abc")
    assert exc.body == body["error"]
    assert exc.request_id == "req_abc"
    assert str(exc) == "HTTP 401: Incorrect API key provided: sk-…"


def test_status_error_message_shapes() -> None:
    mistral = {"object": "error", "message": {"detail": [{"loc": ["body"]}]}, "code": None}
    assert (
        json.loads(str(status_error(422, mistral)).removeprefix("HTTP 422: ")) == mistral["message"]
    )
    assert str(status_error(404, {"detail": "Not Found"})) == "HTTP 404: Not Found"
    assert (
        str(status_error(502, "<html>Bad gateway</html>\n")) == "HTTP 502: <html>Bad gateway</html>"
    )
    assert str(status_error(500, None)) == "HTTP 500: the response gave no error message"
    assert str(status_error(400, {"error": "plain string"})) == "HTTP 400: plain string"
    assert status_error(400, {"error": "plain string"}).body == "plain string"
    long = status_error(500, "x" * 2000)
    assert len(str(long)) < 600
    assert status_error(400, {"a": 1}, message="custom").message == "custom"


# -- non-streaming responses -------------------------------------------------------------------


def test_parse_completion_content() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": '{"city": "Paris"}', "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    assert parse_completion(body) == ChunkUpdate(
        content='{"city": "Paris"}', finish_reason="stop", usage=Usage(10, 5, 15)
    )


def test_parse_completion_tool_calls_are_keyed_by_position() -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "Item", "arguments": '{"n": 1}'},
                        },
                        # no id, arguments as an object: still its own call
                        {"type": "function", "function": {"name": "Item", "arguments": {"n": 2}}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    update = parse_completion(body)
    assert update.tool_calls == (
        ToolCallDelta(0, "a", "Item", '{"n": 1}'),
        ToolCallDelta(1, None, "Item", '{"n": 2}'),
    )
    assert update.finish_reason == "tool_calls"


def test_parse_completion_refusal_error_and_malformed() -> None:
    refusal = {
        "choices": [
            {"index": 0, "message": {"content": None, "refusal": "No."}, "finish_reason": "stop"}
        ]
    }
    assert parse_completion(refusal).refusal == "No."
    error = parse_completion({"error": {"message": "overloaded", "code": 503}})
    assert error.error is not None
    assert isinstance(error.error.to_exception(), InternalServerError)
    assert parse_completion({"choices": []}) == ChunkUpdate()
    with pytest.raises(APIError, match=r"^malformed response: choices\[0\]\.message is a string"):
        parse_completion({"choices": [{"index": 0, "message": "hi"}]})
    with pytest.raises(APIError, match=r"^malformed response: the body is a string"):
        parse_completion("hello")


def test_usage_pickles_and_copies_as_itself() -> None:
    # A frozen class compiled by mypyc cannot be unpickled attribute by attribute: __reduce__.
    usage = Usage(10, 5, 15)
    assert pickle.loads(pickle.dumps(usage)) == usage
    assert copy.deepcopy(usage) == usage


def test_the_update_vocabulary_is_core() -> None:
    # Every dialect's decoder and the response pipeline read these (the layer is checked by
    # tests/project/test_layers.py); _wire re-exports them.
    assert ChunkUpdate is _updates.ChunkUpdate
    assert status_error is _updates.status_error
