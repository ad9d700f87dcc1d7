"""Re-ask messages (issue 16, part 1): each API's shapes for a rejected answer and its errors."""

from __future__ import annotations

import dataclasses
import json
import pickle
import typing
from typing import Any

import pytest
import typing_extensions
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputItemParam
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from streamstruct import JSONParser, PartialAssembler, ResponseValidationError
from streamstruct._request._modes import ModeName
from streamstruct._request._reask import (
    Reasked,
    RejectedAnswer,
    RejectedToolCall,
    anthropic_reask_messages,
    chat_reask_messages,
    closed_arguments,
    describe_validation_errors,
    responses_reask_items,
)


class Pet(BaseModel):
    name: str
    age: int = Field(ge=0)


class Owner(BaseModel):
    name: str
    pets: list[Pet]


CONTENT_MODES: list[ModeName] = ["json_schema", "json", "md_json"]
BAD_OWNER = '{"name": "Ann", "pets": [{"name": "Rex", "age": -3}, {"name": "Tom", "age": "old"}]}'


def owner_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Owner.model_validate_json(BAD_OWNER)
    return caught.value


def streamed_error(text: str) -> ResponseValidationError:
    """The error the assembler raises mid-stream (absolute paths), fed one character at a time."""
    assembler = PartialAssembler(Owner)
    parser = JSONParser(completion_depth=assembler.completion_depth)

    def feed_all() -> None:
        for char in text:
            parser.feed(char)
            assembler.advance(parser)

    with pytest.raises(ResponseValidationError) as caught:
        feed_all()
    return caught.value


def check_openai_shapes(
    adapter: TypeAdapter[Any], union: Any, messages: list[dict[str, Any]]
) -> None:
    """Each message is one of the SDK's own param types, with no key that type does not have."""
    for message in messages:
        adapter.validate_python(message)
        assert json.loads(json.dumps(message)) == message
        allowed = [
            set(typing.get_type_hints(member))
            for member in typing.get_args(union)
            if typing_extensions.is_typeddict(member)
        ]
        assert any(set(message) <= keys for keys in allowed), message


# -- the error text ----------------------------------------------------------------------------


def test_each_error_is_named_with_its_path_and_value() -> None:
    text = describe_validation_errors(owner_error())
    lines = text.splitlines()
    assert lines[0].startswith("- pets[0].age: Input should be greater than or equal to 0 (got -3)")
    assert lines[1].startswith("- pets[1].age: Input should be a valid integer")
    assert '(got "old")' in lines[1]


def test_a_streamed_error_names_its_absolute_path() -> None:
    error = streamed_error(BAD_OWNER)
    assert describe_validation_errors(error).startswith("- pets[0].age: Input should be greater")


def test_a_long_value_is_shortened_and_a_root_error_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Pet.model_validate({"name": "x" * 500, "age": "x" * 500})
    assert len(describe_validation_errors(caught.value).splitlines()[0]) < 200
    assert "x" * 100 not in describe_validation_errors(caught.value)
    bare = ResponseValidationError("the response is not an object")
    assert describe_validation_errors(bare) == "- the response is not an object"
    with pytest.raises(ValidationError) as root:
        Pet.model_validate([1])
    assert describe_validation_errors(root.value).startswith("- the whole answer: ")


# -- closing an answer cut at its first error ------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "closed", "cut"),
    [
        ('{"name": "Rex", "age": 3}', '{"name": "Rex", "age": 3}', False),
        ('{"name": "Rex", "age": -', '{"name": "Rex"}', True),
        ('{"name": "Re', '{"name": "Re"}', True),
        ('{"pets": [{"name": "Rex"}, {"na', '{"pets": [{"name": "Rex"}, {}]}', True),
        ("", "{}", True),
        ("not json", "{}", True),
    ],
)
def test_cut_arguments_are_sent_closed(arguments: str, closed: str, cut: bool) -> None:
    got, was_cut = closed_arguments(arguments)
    assert (json.loads(got), was_cut) == (json.loads(closed), cut)


# -- Chat Completions -----------------------------------------------------------------------

CHAT = TypeAdapter(ChatCompletionMessageParam)


def test_chat_tools_mode_sends_the_tool_call_and_a_tool_result_naming_each_error() -> None:
    answer = RejectedAnswer(tool_calls=(RejectedToolCall("call_1", "Owner", BAD_OWNER),))
    messages = chat_reask_messages("tools", answer, owner_error())
    check_openai_shapes(CHAT, ChatCompletionMessageParam, messages)
    assistant, tool = messages
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "Owner", "arguments": BAD_OWNER}}
    ]
    assert tool["role"] == "tool"
    assert tool["tool_call_id"] == "call_1"
    assert "pets[0].age" in tool["content"]
    assert "pets[1].age" in tool["content"]
    assert "stopped at the first error" not in tool["content"]


def test_chat_tools_mode_closes_a_cut_answer_and_says_so() -> None:
    cut = '{"name": "Ann", "pets": [{"name": "Rex", "age": -3'
    error = streamed_error(cut + "}]}")
    answer = RejectedAnswer(tool_calls=(RejectedToolCall("call_1", "Owner", cut),))
    assistant, tool = chat_reask_messages("tools", answer, error)
    arguments = assistant["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"name": "Ann", "pets": [{"name": "Rex"}]}
    assert "stopped at the first error" in tool["content"]


def test_every_parallel_call_gets_a_reply_and_only_the_failed_one_the_errors() -> None:
    calls = tuple(
        RejectedToolCall(f"call_{i}", "Pet", args)
        for i, args in enumerate(['{"name": "A", "age": 1}', '{"name": "B", "age": -1}', '{"na'])
    )
    with pytest.raises(ValidationError) as caught:
        Pet.model_validate_json(calls[1].arguments)
    error = ResponseValidationError(
        "item 1 is invalid", errors=list(caught.value.errors()), index=1
    )
    messages = chat_reask_messages("tools", RejectedAnswer(tool_calls=calls), error, kept_items=1)
    check_openai_shapes(CHAT, ChatCompletionMessageParam, messages)
    assistant, *tools = messages
    assert [call["id"] for call in assistant["tool_calls"]] == ["call_0", "call_1", "call_2"]
    assert [tool["tool_call_id"] for tool in tools] == ["call_0", "call_1", "call_2"]
    assert tools[0]["content"].startswith("Valid")
    assert "age: Input should be greater" in tools[1]["content"]
    assert "first 1 item(s) were valid" in tools[1]["content"]
    assert tools[2]["content"].startswith("Not read")


@pytest.mark.parametrize("mode", CONTENT_MODES)
def test_chat_content_modes_send_the_text_and_a_user_message(mode: ModeName) -> None:
    answer = RejectedAnswer(text=BAD_OWNER)
    messages = chat_reask_messages(mode, answer, owner_error())
    check_openai_shapes(CHAT, ChatCompletionMessageParam, messages)
    assert messages[0] == {"role": "assistant", "content": BAD_OWNER}
    assert messages[1]["role"] == "user"
    assert "pets[0].age" in messages[1]["content"]
    assert ("```json" in messages[1]["content"]) is (mode == "md_json")


def test_a_tools_mode_answer_without_a_call_is_re_asked_as_text() -> None:
    messages = chat_reask_messages("tools", RejectedAnswer(text="I cannot"), owner_error())
    assert [m["role"] for m in messages] == ["assistant", "user"]


# -- Responses API ----------------------------------------------------------------------------

RESPONSES = TypeAdapter(ResponseInputItemParam)


def test_responses_tools_mode_sends_function_call_and_output_items() -> None:
    answer = RejectedAnswer(tool_calls=(RejectedToolCall("call_9", "Owner", BAD_OWNER),))
    items = responses_reask_items("tools", answer, owner_error())
    check_openai_shapes(RESPONSES, ResponseInputItemParam, items)
    call, output = items
    assert call == {
        "type": "function_call",
        "call_id": "call_9",
        "name": "Owner",
        "arguments": BAD_OWNER,
    }
    assert output["type"] == "function_call_output"
    assert output["call_id"] == "call_9"
    assert "pets[1].age" in output["output"]


@pytest.mark.parametrize("mode", CONTENT_MODES)
def test_responses_content_modes_send_two_messages(mode: ModeName) -> None:
    items = responses_reask_items(mode, RejectedAnswer(text=BAD_OWNER), owner_error())
    check_openai_shapes(RESPONSES, ResponseInputItemParam, items)
    assert [item["role"] for item in items] == ["assistant", "user"]


# -- Anthropic --------------------------------------------------------------------------------


def test_anthropic_tools_mode_sends_tool_use_and_an_error_tool_result() -> None:
    cut = '{"name": "Ann", "pets": [{"name": "Rex", "age": -3'
    answer = RejectedAnswer(
        text="Here it is.", tool_calls=(RejectedToolCall("toolu_1", "Owner", cut),)
    )
    assistant, user = anthropic_reask_messages("tools", answer, streamed_error(cut + "}]}"))
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Here it is."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "Owner",
                "input": {"name": "Ann", "pets": [{"name": "Rex"}]},
            },
        ],
    }
    assert user["role"] == "user"
    [result] = user["content"]
    assert (result["type"], result["tool_use_id"], result["is_error"]) == (
        "tool_result",
        "toolu_1",
        True,
    )
    assert "pets[0].age" in result["content"]


def test_anthropic_input_is_always_an_object() -> None:
    answer = RejectedAnswer(tool_calls=(RejectedToolCall("toolu_1", "Pet", "[1, 2]"),))
    assistant, _ = anthropic_reask_messages("tools", answer, owner_error())
    assert assistant["content"][0]["input"] == {}


@pytest.mark.parametrize("mode", CONTENT_MODES)
def test_anthropic_content_modes_send_text_then_a_user_message(mode: ModeName) -> None:
    assistant, user = anthropic_reask_messages(mode, RejectedAnswer(text=BAD_OWNER), owner_error())
    assert assistant == {"role": "assistant", "content": [{"type": "text", "text": BAD_OWNER}]}
    assert user["role"] == "user"
    assert "pets[1].age" in user["content"]
    # An empty text block is refused by Anthropic: a blank answer sends the request alone.
    [alone] = anthropic_reask_messages(mode, RejectedAnswer(text=" "), owner_error())
    assert alone["role"] == "user"


# -- the event --------------------------------------------------------------------------------


def test_reasked_is_a_frozen_slotted_event_that_pickles() -> None:
    error = streamed_error(BAD_OWNER)
    event = Reasked(attempt=2, error=error, text=BAD_OWNER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.attempt = 3  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    copy = pickle.loads(pickle.dumps(event))
    assert (copy.attempt, copy.text, copy.error.path) == (2, BAD_OWNER, error.path)
