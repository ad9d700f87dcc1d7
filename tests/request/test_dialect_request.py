"""The Responses and Anthropic request bodies built from a chat-shaped plan, every field name
checked against the official SDKs' request TypedDicts (openai-python, anthropic-sdk-python)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from anthropic.types import (
    Base64ImageSourceParam,
    ImageBlockParam,
    JSONOutputFormatParam,
    OutputConfigParam,
    TextBlockParam,
    ToolChoiceAnyParam,
    ToolChoiceToolParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    URLImageSourceParam,
)
from anthropic.types.message_create_params import MessageCreateParamsStreaming
from openai.types.responses import (
    EasyInputMessageParam,
    FunctionToolParam,
    ResponseFormatTextJSONSchemaConfigParam,
    ResponseFunctionToolCallParam,
    ResponseInputImageParam,
    ResponseInputTextParam,
    ResponseTextConfigParam,
    ToolChoiceFunctionParam,
)
from openai.types.responses.response_create_params import ResponseCreateParamsStreaming
from openai.types.responses.response_input_item_param import FunctionCallOutput
from pydantic import BaseModel
from shared_support import User

from streamstruct import InvalidArgumentTypeError, InvalidArgumentValueError, Mode
from streamstruct._request._dialect_request import (
    ANTHROPIC_DEFAULT_MAX_TOKENS,
    AnthropicParams,
    ResponsesParams,
    anthropic_messages,
    anthropic_request,
    check_dialect_params,
    responses_input,
    responses_request,
)
from streamstruct._request._modes import plan_request


def keys_of(typed_dict: Any) -> frozenset[str]:
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def assert_shape(value: Mapping[str, Any], typed_dict: Any) -> None:
    """Every key sent is a field of the SDK's type, and every required field is sent."""
    assert set(value) <= keys_of(typed_dict), set(value) - keys_of(typed_dict)
    assert set(typed_dict.__required_keys__) <= set(value)


ASK = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ann, 31"}]


# Typed by anthropic-sdk-python 0.121.0 (MessageCreateParams, 2026-08) but gone from the 2.x
# wheel's type (the API still documents them for the models that take sampling parameters).
SAMPLING = frozenset({"temperature", "top_p", "top_k"})


def test_our_parameter_lists_are_fields_of_the_sdk_request_types() -> None:
    assert ResponsesParams.__optional_keys__ <= keys_of(ResponseCreateParamsStreaming)
    assert AnthropicParams.__optional_keys__ <= keys_of(MessageCreateParamsStreaming) | SAMPLING


def test_responses_tools_mode_is_a_flat_forced_function_tool() -> None:
    plan = plan_request(User, ASK, mode=Mode.TOOLS, strict=True)
    request = responses_request(plan, model="gpt-5", params={"store": False, "reasoning": {}})
    body = request.body
    assert request.path == "/responses"
    assert_shape(body, ResponseCreateParamsStreaming)
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": "Ann, 31"}]
    (tool,) = body["tools"]
    assert_shape(tool, FunctionToolParam)
    assert tool["name"] == "User"
    assert tool["strict"] is True
    assert tool["parameters"]["additionalProperties"] is False
    assert_shape(body["tool_choice"], ToolChoiceFunctionParam)
    assert body["tool_choice"] == {"type": "function", "name": "User"}
    assert body["stream"] is True
    assert body["store"] is False


def test_responses_iterable_tools_require_a_call_in_parallel() -> None:
    class Pet(BaseModel):
        name: str

    plan = plan_request(Iterable[User | Pet], ASK, mode=Mode.TOOLS)
    body = responses_request(plan, model="m").body
    assert [t["name"] for t in body["tools"]] == ["User", "Pet"]
    assert all(t["strict"] is False for t in body["tools"])
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is True


def test_responses_json_schema_and_json_modes_set_text_format() -> None:
    body = responses_request(plan_request(User, ASK, mode=Mode.JSON_SCHEMA), model="m").body
    assert_shape(body["text"], ResponseTextConfigParam)
    assert_shape(body["text"]["format"], ResponseFormatTextJSONSchemaConfigParam)
    assert body["text"]["format"]["strict"] is True
    assert "tools" not in body
    body = responses_request(plan_request(User, ASK, mode=Mode.JSON), model="m").body
    assert body["text"] == {"format": {"type": "json_object"}}
    assert "JSON schema" in body["instructions"]
    body = responses_request(plan_request(User, ASK[1:], mode=Mode.MD_JSON), model="m").body
    assert "text" not in body
    assert "```json" in body["instructions"]


CONVERSATION: list[dict[str, Any]] = [
    {"role": "developer", "content": [{"type": "text", "text": "Rules."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Who is this?"},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "look", "arguments": ""}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "grey"}]},
    {"role": "user", "content": "So?"},
]


def test_responses_input_translates_images_calls_and_tool_results() -> None:
    instructions, items = responses_input(CONVERSATION)
    assert instructions == "Rules."
    user, call_1, call_2, output_1, output_2, last = items
    assert_shape(user, EasyInputMessageParam)
    text, url_image, data_image = user["content"]
    assert_shape(text, ResponseInputTextParam)
    assert_shape(url_image, ResponseInputImageParam)
    assert url_image["detail"] == "low"
    assert data_image["detail"] == "auto"
    assert data_image["image_url"] == "data:image/png;base64,iVBO"
    for call in (call_1, call_2):
        assert_shape(call, ResponseFunctionToolCallParam)
    assert call_2["arguments"] == ""
    for output in (output_1, output_2):
        assert_shape(output, FunctionCallOutput)
    assert (output_1["call_id"], output_2["output"]) == ("call_1", "grey")
    assert last == {"role": "user", "content": "So?"}


def test_anthropic_messages_translate_images_calls_and_tool_results() -> None:
    system, messages = anthropic_messages(CONVERSATION)
    assert system == "Rules."
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "user"]
    text, url_image, data_image = messages[0]["content"]
    assert_shape(text, TextBlockParam)
    assert_shape(url_image, ImageBlockParam)
    assert_shape(url_image["source"], URLImageSourceParam)
    assert_shape(data_image["source"], Base64ImageSourceParam)
    assert data_image["source"]["media_type"] == "image/png"
    assert data_image["source"]["data"] == "iVBO"
    uses = messages[1]["content"]
    for use in uses:
        assert_shape(use, ToolUseBlockParam)
    assert [u["input"] for u in uses] == [{}, {}]
    results = messages[2]["content"]  # both results in one user message
    for result in results:
        assert_shape(result, ToolResultBlockParam)
    assert [r["tool_use_id"] for r in results] == ["call_1", "call_2"]
    assert messages[3]["content"] == [{"type": "text", "text": "So?"}]


def test_anthropic_tools_mode_forces_one_eagerly_streamed_tool() -> None:
    plan = plan_request(User, ASK, mode=Mode.TOOLS, strict=True)
    params = {"stop_sequences": ["}"]}
    request = anthropic_request(plan, model="claude", api_key="sk-ant-x", params=params)
    body = request.body
    assert request.path == "/v1/messages"
    assert request.headers == {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-x"}
    assert_shape(body, MessageCreateParamsStreaming)
    assert body["max_tokens"] == ANTHROPIC_DEFAULT_MAX_TOKENS
    assert body["system"] == "Be brief."
    assert body["stop_sequences"] == ["}"]
    (tool,) = body["tools"]
    assert_shape(tool, ToolParam)
    assert tool["eager_input_streaming"] is True
    assert tool["strict"] is True
    assert_shape(body["tool_choice"], ToolChoiceToolParam)
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "User",
        "disable_parallel_tool_use": True,
    }


def test_anthropic_iterable_tools_use_tool_choice_any() -> None:
    body = anthropic_request(plan_request(Iterable[User], ASK), model="m").body
    assert_shape(body["tool_choice"], ToolChoiceAnyParam)
    assert "parallel_tool_calls" not in body
    assert "strict" not in body["tools"][0]


def test_anthropic_json_schema_mode_uses_output_config_merged_with_the_callers() -> None:
    plan = plan_request(User, ASK, mode=Mode.JSON_SCHEMA)
    params = {"max_tokens": 99, "output_config": {"effort": "low"}}
    body = anthropic_request(plan, model="m", params=params).body
    assert_shape(body["output_config"], OutputConfigParam)
    assert_shape(body["output_config"]["format"], JSONOutputFormatParam)
    assert body["output_config"]["effort"] == "low"
    assert body["max_tokens"] == 99
    assert params == {"max_tokens": 99, "output_config": {"effort": "low"}}  # not mutated
    body = anthropic_request(plan_request(User, ASK, mode=Mode.JSON), model="m").body
    assert "output_config" not in body
    assert "JSON schema" in body["system"]


def test_anthropic_refuses_thinking_with_a_forced_tool() -> None:
    thinking = {"type": "enabled", "budget_tokens": 2048}
    with pytest.raises(InvalidArgumentValueError, match="JSON_SCHEMA") as caught:
        anthropic_request(plan_request(User, ASK), model="m", params={"thinking": thinking})
    assert caught.value.argument == "thinking"
    plan = plan_request(User, ASK, mode=Mode.JSON_SCHEMA)
    assert anthropic_request(plan, model="m", params={"thinking": thinking}).body["thinking"]


def test_the_callers_parameters_never_replace_what_the_mode_wrote() -> None:
    plan = plan_request(User, ASK)
    body = responses_request(plan, model="m", params={"tool_choice": "none", "model": "x"}).body
    assert body["tool_choice"]["name"] == "User"
    assert body["model"] == "m"


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([{"role": "function", "name": "f", "content": "x"}], "messages[0]"),
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
            "messages[0].content[0]",
        ),
        ([{"role": "tool", "content": "x"}], "messages[0]"),
    ],
)
@pytest.mark.parametrize("translate", [responses_input, anthropic_messages])
def test_an_untranslatable_message_is_named(messages: Any, where: str, translate: Any) -> None:
    with pytest.raises(InvalidArgumentValueError) as caught:
        translate(messages)
    assert caught.value.argument == where
    assert where in str(caught.value)


def test_anthropic_refuses_what_only_it_cannot_take() -> None:
    late_system = [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]
    with pytest.raises(InvalidArgumentValueError, match=r"messages\[1\]"):
        anthropic_messages(late_system)
    assert responses_input(late_system)[1][1] == {"role": "system", "content": "b"}
    tiff = {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AA"}}
    with pytest.raises(InvalidArgumentValueError, match="tiff"):
        anthropic_messages([{"role": "user", "content": [tiff]}])
    bad_call = {"id": "c", "function": {"name": "f", "arguments": "[1]"}}
    with pytest.raises(InvalidArgumentValueError, match=r"tool_calls\[0\]"):
        anthropic_messages([{"role": "assistant", "content": "", "tool_calls": [bad_call]}])


def test_check_dialect_params_names_the_dialects_own_spelling() -> None:
    check_dialect_params("anthropic", {"top_k": 3, "thinking": {}})
    with pytest.raises(InvalidArgumentTypeError, match="stop_sequences") as caught:
        check_dialect_params("anthropic", {"stop": ["x"]})
    assert caught.value.argument == "stop"
    with pytest.raises(InvalidArgumentTypeError, match="max_output_tokens"):
        check_dialect_params("responses", {"max_tokens": 10})
    with pytest.raises(InvalidArgumentTypeError, match="extra_body"):
        check_dialect_params("responses", {"top_k": 10})


def test_the_instruction_added_to_a_system_message_of_parts_stays_apart() -> None:
    system = {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    plan = plan_request(User, [system, ASK[1]], mode=Mode.JSON)
    instructions = responses_request(plan, model="m").body["instructions"]
    assert instructions.startswith("Be brief.\n\nRespond with a JSON object")
    assert anthropic_request(plan, model="m").body["system"] == instructions
