"""The seam between a re-ask and the request's API, and the rejected answer built from a reader.

Border: :func:`reask_shape` (which body key and builder each API's re-ask uses) and
:func:`rejected_answer` (ids and names filled in); the builders' messages are ``test_reask.py``'s,
the stream's re-ask loop ``tests/io/test_client_reasks.py``'s.
"""

from __future__ import annotations

from streamstruct._request._reask import (
    RejectedAnswer,
    RejectedToolCall,
    anthropic_reask_messages,
    chat_reask_messages,
    reask_shape,
    rejected_answer,
    responses_reask_items,
)


def test_each_api_has_its_conversation_key_and_builder() -> None:
    assert reask_shape() == ("messages", chat_reask_messages)
    assert reask_shape("chat") == ("messages", chat_reask_messages)
    assert reask_shape("responses") == ("input", responses_reask_items)
    assert reask_shape("anthropic") == ("messages", anthropic_reask_messages)


def test_a_call_without_an_id_or_a_name_gets_one() -> None:
    answer = rejected_answer("", [("call_a", "User", "{}"), (None, None, '{"a"')], "User")
    assert answer == RejectedAnswer(
        "",
        (RejectedToolCall("call_a", "User", "{}"), RejectedToolCall("call_1", "User", '{"a"')),
    )


def test_a_content_answer_keeps_its_text() -> None:
    assert rejected_answer('{"age": -1}', [], "") == RejectedAnswer('{"age": -1}')
