"""ChunkDecoder's fast path for the common chunk shapes gives what the careful path gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from streamstruct import APIError
from streamstruct._core._wire import ChunkDecoder, ChunkUpdate


def _careful(decoder: ChunkDecoder, chunk: Any, event: str | None) -> ChunkUpdate:
    return decoder.decode_other(chunk, event=event)


def _tool(arguments: Any = "ab", **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": 0, "function": {"arguments": arguments}}
    entry.update(extra)
    return {"tool_calls": [entry]}


def _chunk(delta: Any, **extra: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}
    chunk.update(extra)
    return chunk


CHUNKS: list[Any] = [
    _chunk({"content": "abcd"}),
    _chunk({"content": ""}),
    _chunk({"content": "x", "role": "assistant"}),
    _chunk({"content": None}),
    _chunk({}),
    _chunk(None),
    _chunk({"content": 3}),
    _chunk({"content": [{"type": "text", "text": "a"}]}),
    _chunk({"content": "a", "refusal": None}),
    _chunk({"content": "a", "reasoning_content": "r"}),
    _chunk({"content": "a", "tool_calls": None}),
    _chunk(_tool()),
    _chunk(_tool("")),
    _chunk(_tool(None)),
    _chunk(_tool({"a": 1})),
    _chunk(_tool(3)),
    _chunk(_tool(id="call_1")),
    _chunk(_tool(id="")),
    _chunk(_tool(type="function")),
    _chunk({"tool_calls": [{"index": 1, "function": {"arguments": "x"}}]}),
    _chunk({"tool_calls": [{"index": True, "function": {"arguments": "x"}}]}),
    _chunk({"tool_calls": [{"index": "0", "function": {"arguments": "x"}}]}),
    _chunk({"tool_calls": [{"function": {"arguments": "x"}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "x", "name": "f"}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "x", "name": ""}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": None}]}),
    _chunk({"tool_calls": [{"index": 0, "function": "f"}]}),
    _chunk({"tool_calls": [{"index": 0}, {"index": 1}]}),
    _chunk({"tool_calls": []}),
    _chunk({"tool_calls": ["x"]}),
    _chunk({"tool_calls": {"index": 0}}),
    _chunk({"content": "a"}, usage=None),
    _chunk({"content": "a"}, usage={"prompt_tokens": 1, "completion_tokens": 2}),
    _chunk({"content": "a"}, error={"message": "boom"}),
    _chunk({"content": "a"}, error=None),
    _chunk({"content": "a"}, object="error", message="flat"),
    _chunk({"content": "a"}, x_groq={"usage": {"total_tokens": 3}}),
    _chunk({"content": "a"}, x_groq={"id": "q"}),
    {"choices": [{"delta": {"content": "no index"}}]},
    {"choices": [{"index": 1, "delta": {"content": "other choice"}}]},
    {"choices": [{"index": True, "delta": {"content": "bool index"}}]},
    {"choices": [{"index": 0.0, "delta": {"content": "float index"}}]},
    {"choices": [{"index": 0, "delta": {"content": "done"}, "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": 3}]},
    {"choices": [{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {}}]},
    {"choices": ["x"]},
    {"choices": []},
    {"choices": None},
    {"choices": {"index": 0}},
    [],
    "text",
]


@pytest.mark.parametrize("event", [None, "message", "error", "delta"])
@pytest.mark.parametrize("chunk", CHUNKS, ids=range(len(CHUNKS)))
def test_the_fast_path_agrees_with_the_careful_path(chunk: Any, event: str | None) -> None:
    fast_decoder, careful_decoder = ChunkDecoder(), ChunkDecoder()
    for decoder in (fast_decoder, careful_decoder):  # some bookkeeping first: a call at index 0
        decoder.decode(_chunk(_tool(id="call_0")))
    careful: ChunkUpdate | str
    try:
        careful = _careful(careful_decoder, copy.deepcopy(chunk), event)
    except APIError as error:
        careful = str(error)
    if isinstance(careful, str):
        with pytest.raises(APIError) as raised:
            fast_decoder.decode(copy.deepcopy(chunk), event=event)
        assert str(raised.value) == careful
        return
    assert fast_decoder.decode(copy.deepcopy(chunk), event=event) == careful
    # ...and the tool-call bookkeeping after it is the same.
    follow = _chunk({"tool_calls": [{"index": 1, "function": {"arguments": "z"}}]})
    assert fast_decoder.decode(follow) == _careful(careful_decoder, follow, None)


def test_a_stream_of_fragments_is_keyed_as_before() -> None:
    chunks = [
        _chunk(_tool("", id="call_a", type="function")),
        _chunk(_tool("{")),
        _chunk(_tool("}")),
        _chunk({"tool_calls": [{"index": 0, "id": "call_b", "function": {"arguments": "["}}]}),
        _chunk(_tool("]")),
    ]
    fast, careful = ChunkDecoder(), ChunkDecoder()
    assert [fast.decode(c) for c in chunks] == [_careful(careful, c, None) for c in chunks]


def test_the_common_shapes_take_the_fast_path() -> None:
    decoder = ChunkDecoder()
    assert decoder.decode_text(_chunk({"content": "a"}), "message") == (None, "a")
    assert decoder.decode_text(_chunk(_tool("{")), None) == (0, "{")
    assert decoder.decode_text(_chunk(_tool("{"), usage=None), None) == (0, "{")
